"""Magento's error answers: ``{"message": ..., "parameters": [...]}`` with an HTTP status."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


class MagentoError(Exception):
    """A refusal in Magento's error shape, raised by the store's rules."""

    def __init__(
        self, status: int, message: str, parameters: list[str] | dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameters: list[str] | dict[str, str] = parameters or []


def magento_error(status: int, message: str, parameters: Any = None) -> JSONResponse:
    return JSONResponse({"message": message, "parameters": parameters or []}, status_code=status)
