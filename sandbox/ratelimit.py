"""A sliding one-minute request window per API key, as Picqer documents its rate limit."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

ONE_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int | None
    remaining: int | None


class SlidingWindowLimiter:
    """Counts accepted requests per key over the last ``window``; refused requests do not count.

    Time comes from ``now`` (the sandbox clock) so tests can empty the window by advancing it.
    ``limit=None`` disables limiting (and the headers).
    """

    def __init__(
        self, *, limit: int | None, now: Callable[[], datetime], window: timedelta = ONE_MINUTE
    ) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._now = now
        self._window = window
        self._hits: dict[str, deque[datetime]] = {}

    @property
    def limit(self) -> int | None:
        return self._limit

    def set_limit(self, limit: int | None) -> None:
        with self._lock:
            self._limit = limit
            self._hits.clear()

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()

    def acquire(self, key: str) -> RateDecision:
        """Spend one request for ``key`` if the window has room; a refusal is not counted."""
        with self._lock:
            if self._limit is None:
                return RateDecision(allowed=True, limit=None, remaining=None)
            hits = self._window_for(key)
            if len(hits) >= self._limit:
                return RateDecision(allowed=False, limit=self._limit, remaining=0)
            hits.append(self._now())
            return RateDecision(allowed=True, limit=self._limit, remaining=self._limit - len(hits))

    def _window_for(self, key: str) -> deque[datetime]:
        hits = self._hits.setdefault(key, deque())
        horizon = self._now() - self._window
        while hits and hits[0] <= horizon:
            hits.popleft()
        return hits
