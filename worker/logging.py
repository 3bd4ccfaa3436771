"""structlog, configured once per process: JSON lines in production, console in a terminal.

One JSON object per line, always: structlog's events and the standard library's records (dramatiq,
uvicorn, httpx) pass the same redaction and reach the stream through one writer (:class:`LineWriter`).

Events are snake_case names with key-value pairs. A redaction processor drops secrets and
street-level address data from every event, whatever the caller passed.
"""

from __future__ import annotations

import functools
import logging
import os
import select
import sys
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

REDACTED = "[redacted]"
# a write to a pipe of at most this many bytes is never interleaved with another writer's (POSIX)
PIPE_BUF = getattr(select, "PIPE_BUF", 512)
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


@functools.lru_cache(maxsize=4096)
def _is_redacted_key(key: str) -> bool:
    # an event has a handful of keys from a small set of names: each is judged once per process
    # (this ran for every key of every line: a third of a line's cost on the receiver's hot path)
    lowered = key.lower()
    return lowered in PERSONAL_KEYS or any(part in lowered for part in SECRET_KEY_PARTS)


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: replace secret and personal values by a marker."""
    for key in list(event_dict):
        if isinstance(key, str) and _is_redacted_key(key):
            event_dict[key] = REDACTED
    return event_dict


class LineWriter:
    """Writes whole log lines to the *current* ``sys.stderr`` (tests and daemons swap it).

    Every line of the process, structlog's and the standard library's (dramatiq, uvicorn, httpx),
    goes through :func:`write_line`: one lock, and the line with its newline in a single write, so two
    threads never merge (``...Z"}{"event"...``) and no empty lines appear. On a real file descriptor
    the write is one ``os.write``: with ``O_APPEND`` (a log file) or a pipe (up to ``PIPE_BUF``
    bytes, 4 KiB on Linux), the kernel keeps it whole even beside another process writing to it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()  # a thread's lines held by :meth:`batched`

    def write_line(self, line: str) -> None:
        data = line.rstrip("\n") + "\n"
        held: list[str] | None = getattr(self._local, "lines", None)
        if held is not None:
            held.append(data)
            return
        self._write([data])

    @contextmanager
    def batched(self) -> Iterator[None]:
        """The lines this thread writes inside the block go out at its end, whole lines together in
        writes of at most ``PIPE_BUF`` bytes (so still whole beside another process).

        For the receiver's inbox writer, which logs a line per webhook of a group: each write lets go
        of the GIL, and on a busy event loop the thread then waits to get it back, once per line.
        """
        if getattr(self._local, "lines", None) is not None:  # nested: the outer block writes
            yield
            return
        self._local.lines = []
        try:
            yield
        finally:
            lines, self._local.lines = self._local.lines, None
            if lines:
                self._write(lines)

    def _write(self, lines: list[str]) -> None:
        stream = sys.stderr
        with self._lock:
            try:
                fd = stream.fileno()
            except (AttributeError, OSError, ValueError):
                fd = None  # a test's capture, CliRunner's buffer: no descriptor, one write() to it
            if fd is None:
                for data in lines:
                    stream.write(data)
                stream.flush()
                return
            stream.flush()  # whatever someone printed before us goes first
            for chunk in _whole_line_chunks(lines):
                while chunk:
                    # a signal or a full pipe may cut a write short; the rest follows at once, under the lock
                    written = os.write(fd, chunk)
                    chunk = chunk[written:]


def _whole_line_chunks(lines: list[str]) -> Iterator[bytes]:
    """``lines`` encoded and joined into pieces of at most ``PIPE_BUF`` bytes, each ending with a
    whole line (a longer line is a piece of its own)."""
    piece = b""
    for data in lines:
        encoded = data.encode("utf-8", errors="replace")
        if piece and len(piece) + len(encoded) > PIPE_BUF:
            yield piece
            piece = b""
        piece += encoded
    if piece:
        yield piece


WRITER = LineWriter()


class _LineLogger:
    """structlog's logger: hands each rendered event to the process's one :data:`WRITER`."""

    def msg(self, message: str) -> None:
        WRITER.write_line(message)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _line_logger_factory(*_: Any) -> _LineLogger:
    return _LineLogger()


class LineHandler(logging.Handler):
    """The standard library's records (dramatiq, uvicorn, httpx), rendered as ours, through the writer."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            WRITER.write_line(self.format(record))
        except Exception:  # a log line must never take the process down
            self.handleError(record)


def _collapse_to_one_line(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A library's message with a newline in it would be two lines for a collector."""
    event = event_dict.get("event")
    if isinstance(event, str) and "\n" in event:
        event_dict["event"] = " | ".join(part for part in event.splitlines() if part.strip())
    return event_dict


# the libraries whose lines we render: each may have set up handlers of its own before us
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq", "httpx", "httpcore", "alembic")


def configure_logging(*, log_format: str = "auto", level: str = "INFO") -> None:
    """Configure structlog and the standard library logging for this process: one writer for both."""
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=_line_logger_factory,
        cache_logger_on_first_use=False,
    )
    # libraries log through the standard library: the same processors and the same writer, and a
    # floor of WARNING to keep them quieter than our own events
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.ExtraAdder(),  # before redact, which then sees the extras too
            *shared,
            structlog.stdlib.add_logger_name,
            _collapse_to_one_line,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = LineHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, LineHandler)]:
        root.removeHandler(old)
    # a handler someone else put on the root (basicConfig, a library) would print a second, plain copy
    for other in [h for h in root.handlers if type(h) is logging.StreamHandler]:
        root.removeHandler(other)
    root.addHandler(handler)
    root.setLevel(max(numeric_level, logging.WARNING))
    # a library's own logging setup (uvicorn's default config gives "uvicorn" a plain handler and
    # stops propagation) would print its lines around our writer: they all come to the root instead
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        for own in list(library.handlers):
            library.removeHandler(own)
        library.propagate = True


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; ``name`` becomes the ``logger`` key."""
    return structlog.get_logger(name) if name else structlog.get_logger()
