"""WordPress's REST error answers: ``{"code", "message", "data": {"status", ...}}``."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


class WooError(Exception):
    """An answer in WordPress's REST error shape: ``{"code", "message", "data": {"status"}}``."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **data: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.data = data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}


def invalid_param(name: str, why: str) -> WooError:
    return WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}", params={name: why})


def invalid_order(order_id: object) -> WooError:
    return WooError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")


def error_response(error: WooError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)
