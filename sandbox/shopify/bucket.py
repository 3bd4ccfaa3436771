"""Shopify's REST leaky bucket: each call adds one, the bucket leaks at a steady rate, full means 429."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

DEFAULT_BUCKET_SIZE = 40  # the Standard plan
DEFAULT_LEAK_PER_SECOND = 2.0
_EPSILON = 1e-9  # float slack, so a client that waited exactly Retry-After gets in


@dataclass
class LeakyBucket:
    """One store's bucket; time comes from the caller (the sandbox clock), so tests can move it."""

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
        """``X-Shopify-Shop-Api-Call-Limit``; None when unlimited."""
        if self.size <= 0:
            return None
        return f"{min(self.size, math.ceil(self.level - _EPSILON))}/{self.size}"

    def _leak(self, now: datetime) -> None:
        if self.last is not None and now > self.last:
            elapsed = (now - self.last).total_seconds()
            self.level = max(0.0, self.level - elapsed * self.leak_per_second)
        if self.last is None or now > self.last:
            self.last = now
