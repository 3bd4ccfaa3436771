"""Every API request the simulator answered, so tests can count calls (per order, per method, ...)."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # relative to /api/v1, e.g. "/orders/10001/process"
    query: dict[str, str]
    status: int
    error_code: int | None
    time: str  # ISO 8601, sandbox clock

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, *, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """Filtered by method and by a path glob such as ``/orders/10001*``."""
        with self._lock:
            rows = list(self._entries)
        if method:
            rows = [r for r in rows if r.method == method.upper()]
        if path:
            rows = [r for r in rows if fnmatch.fnmatchcase(r.path, path)]
        return rows

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
