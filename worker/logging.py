"""structlog, configured once per process: JSON lines in production, console in a terminal.

Events are snake_case names with key-value pairs. A redaction processor drops secrets and
street-level address data from every event, whatever the caller passed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

REDACTED = "[redacted]"
# substrings of keys whose values never reach a log line
SECRET_KEY_PARTS = ("secret", "token", "password", "api_key", "apikey", "authorization", "signature")
# address lines and personal details: the order reference identifies an order well enough
PERSONAL_KEYS = frozenset(
    {
        "address",
        "address1",
        "address2",
        "address_1",
        "address_2",
        "street",
        "deliveryaddress",
        "deliveryaddress2",
        "invoiceaddress",
        "invoiceaddress2",
        "full_delivery_address",
        "full_invoice_address",
        "telephone",
        "phone",
        "emailaddress",
        "email",
    }
)


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: replace secret and personal values by a marker."""
    for key in list(event_dict):
        lowered = key.lower()
        if lowered in PERSONAL_KEYS or any(part in lowered for part in SECRET_KEY_PARTS):
            event_dict[key] = REDACTED
    return event_dict


class _StderrLogger:
    """Writes each rendered line to the *current* ``sys.stderr`` (tests and daemons swap it)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _stderr_logger_factory(*_: Any) -> _StderrLogger:
    return _StderrLogger()


def configure_logging(*, log_format: str = "auto", level: str = "INFO") -> None:
    """Configure structlog and the standard library logging for this process."""
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=_stderr_logger_factory,
        cache_logger_on_first_use=False,
    )
    # libraries (httpx, dramatiq, uvicorn) log through the standard library; keep them quieter
    logging.basicConfig(level=max(numeric_level, logging.WARNING), stream=sys.stderr, format="%(message)s")


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; ``name`` becomes the ``logger`` key."""
    return structlog.get_logger(name) if name else structlog.get_logger()
