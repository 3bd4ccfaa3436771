"""Picqer's error answers: HTTP status plus ``{"error": true, "error_code": N, "error_message": "..."}``.

Codes are Picqer's own (https://picqer.com/en/api/response-codes, see spec/picqer-api-facts.md §4).
"""

from __future__ import annotations

from typing import Any

UNKNOWN_ERROR = 1
# Not in Picqer's visible code list (which jumps from 1 to 5); the sandbox uses 3 for a refused API key.
INVALID_API_KEY = 3
MISSING_PARAMETERS = 5
INVALID_COUNTRY = 9
MISSING_PRODUCTS = 13
UNKNOWN_VATGROUP = 14
ITEM_NOT_FOUND = 20
NOT_FOUND_OR_WRONG_STATUS = 21
INVALID_JSON = 22
PRODUCT_OR_AMOUNT_MISSING = 23
PRODUCT_DOES_NOT_EXIST = 24
CUSTOMER_DOES_NOT_EXIST = 25
CANNOT_CREATE_SHIPMENT = 26
RATE_LIMIT_EXCEEDED = 28
CANNOT_CHANGE_ORDER = 30
ORDER_IS_PROCESSED = 33
NOT_IMPLEMENTED = 8


class PicqerError(Exception):
    """Raised by the simulator's rules; the API turns it into Picqer's error answer."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message)


def error_body(code: int, message: str) -> dict[str, Any]:
    return {"error": True, "error_code": code, "error_message": message}


def not_found(what: str) -> PicqerError:
    return PicqerError(404, ITEM_NOT_FOUND, f"{what} not found")


def wrong_status(message: str) -> PicqerError:
    return PicqerError(400, NOT_FOUND_OR_WRONG_STATUS, message)


def missing(*names: str) -> PicqerError:
    return PicqerError(400, MISSING_PARAMETERS, f"Missing parameters: {', '.join(names)}")


def invalid(message: str) -> PicqerError:
    return PicqerError(400, MISSING_PARAMETERS, message)
