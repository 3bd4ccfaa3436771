"""A settable clock shared by the simulators, so tests can move time (anonymize after 7 days, ...)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time plus an offset that tests may move forward (``advance``) or pin (``set``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._pinned: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            if self._pinned is not None:
                return self._pinned
            return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            if self._pinned is not None:
                self._pinned += delta
            else:
                self._offset += delta

    def set(self, moment: datetime | None) -> None:
        """Pin the clock at ``moment`` (timezone-aware), or unpin it with ``None``."""
        with self._lock:
            self._pinned = moment.astimezone(UTC) if moment is not None else None

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)
            self._pinned = None
