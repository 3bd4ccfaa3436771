"""Request limits as the simulated platforms enforce them, on the sandbox clock so tests can move time.

- ``SlidingWindowLimiter``: Picqer's documented limit, a sliding minute per API key;
- ``LeakyBucket``: Shopify's REST limit, a bucket per store that leaks at a steady rate;
- ``FixedWindowLimiter``: what a host or WAF in front of a WooCommerce store does (Woo has none itself).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

ONE_MINUTE = timedelta(minutes=1)
DEFAULT_BUCKET_SIZE = 40  # Shopify's Standard plan
DEFAULT_LEAK_PER_SECOND = 2.0
_EPSILON = 1e-9  # float slack, so a client that waited exactly Retry-After gets in


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


class FixedWindowLimiter:
    """At most ``limit`` requests per minute of the clock; refused requests count too.

    ``limit`` may be changed at any time without emptying the current minute; ``None`` lets every
    request through uncounted. ``reset`` empties the minute.
    """

    def __init__(self, *, now: Callable[[], datetime], limit: int | None = None) -> None:
        self._lock = threading.Lock()
        self._now = now
        self.limit = limit
        self._minute: tuple[int, int] = (0, 0)  # (minute since the epoch, requests in it)

    def reset(self) -> None:
        with self._lock:
            self._minute = (0, 0)

    def acquire(self) -> int | None:
        """Count one request: ``None`` when it may pass, else the whole seconds left in the minute."""
        with self._lock:
            if self.limit is None:
                return None
            moment = self._now().timestamp()
            minute = int(moment // 60)
            count = self._minute[1] + 1 if self._minute[0] == minute else 1
            self._minute = (minute, count)
            if count <= self.limit:
                return None
            return max(1, math.ceil((minute + 1) * 60 - moment))


@dataclass
class LeakyBucket:
    """One store's bucket: each call adds one, it leaks at a steady rate, full means 429.

    Not locked: the caller holds its store's lock. Time comes from the caller (the sandbox clock).
    """

    size: int = DEFAULT_BUCKET_SIZE  # 0: no limit
    leak_per_second: float = DEFAULT_LEAK_PER_SECOND
    level: float = 0.0
    last: datetime | None = None

    def take(self, now: datetime) -> float | None:
        """Admit one call (None) or say how many seconds to wait before it would fit."""
        self._leak(now)
        if self.size <= 0:
            return None
        if self.level + 1 > self.size + _EPSILON:
            wait = (self.level + 1 - self.size) / self.leak_per_second
            return math.ceil(wait * 100) / 100  # round up: waiting this long is always enough
        self.level += 1
        return None

    def header(self) -> str | None:
        """``"level/size"``, Shopify's ``X-Shopify-Shop-Api-Call-Limit``; None when unlimited."""
        if self.size <= 0:
            return None
        return f"{min(self.size, math.ceil(self.level - _EPSILON))}/{self.size}"

    def _leak(self, now: datetime) -> None:
        if self.last is not None and now > self.last:
            elapsed = (now - self.last).total_seconds()
            self.level = max(0.0, self.level - elapsed * self.leak_per_second)
        if self.last is None or now > self.last:
            self.last = now
