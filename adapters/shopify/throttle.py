"""Shopify's GraphQL rate limit: a bucket of query-cost points per app and store, shared by every worker.

Every answer says how full the bucket is (``extensions.cost.throttleStatus``: ``maximumAvailable``,
``currentlyAvailable``, ``restoreRate`` points per second). We keep the last status in the shared
store (``adapters/shared.py``, key ``shopify:cost:{shop}``), so every worker process on that shop
knows it; before a call we estimate what the bucket holds now and wait until it can pay the call's
cost, then book the cost so the next worker sees it spent. A call Shopify refuses all the same
(``THROTTLED``) waits for the points it lacked, as :func:`throttled_wait` says.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import structlog

from adapters.shared import SharedStore
from adapters.types import SHOPIFY

log = structlog.get_logger(__name__)

STATUS_TTL_SECONDS: Final = 120.0  # an older status says nothing: the bucket has refilled by then
MIN_THROTTLED_WAIT: Final = 0.5  # seconds, after a THROTTLED answer that said too little to compute one
DEFAULT_RESTORE_RATE: Final = 50.0  # points per second, when an answer leaves it out


@dataclass(frozen=True)
class ThrottleStatus:
    maximum: float
    available: float
    restore: float

    @classmethod
    def from_extensions(cls, extensions: Any) -> ThrottleStatus | None:
        """The status in a GraphQL answer's ``extensions``, or None when it has none."""
        cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
        status = cost.get("throttleStatus") if isinstance(cost, Mapping) else None
        if not isinstance(status, Mapping):
            return None
        try:
            return cls(
                maximum=float(status["maximumAvailable"]),
                available=float(status["currentlyAvailable"]),
                restore=float(status.get("restoreRate") or DEFAULT_RESTORE_RATE),
            )
        except (KeyError, TypeError, ValueError):
            return None


def requested_cost(extensions: Any) -> float | None:
    cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
    value = cost.get("requestedQueryCost") if isinstance(cost, Mapping) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def throttled_wait(cost: float, status: ThrottleStatus | None) -> float:
    """How long a THROTTLED call waits: until the bucket holds its cost again."""
    if status is None or status.restore <= 0:
        return MIN_THROTTLED_WAIT
    return max(MIN_THROTTLED_WAIT, (cost - status.available) / status.restore)


class CostBucket:
    """One shop's bucket as every worker sees it (through ``store``)."""

    def __init__(
        self,
        store: SharedStore,
        shop_url: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        source: str = "",
    ) -> None:
        self._store = store
        self.key = "shopify:cost:" + shop_url.split("://", 1)[-1].rstrip("/")
        self._sleep = sleep
        self._clock = clock
        self._source = source

    def acquire(self, cost: float) -> None:
        """Wait until the bucket can pay ``cost``, then book it (others then wait their turn)."""
        saved = self._load()
        if saved is None:
            return
        status, at = saved
        now = self._clock()
        available = min(status.maximum, status.available + max(0.0, now - at) * status.restore)
        wait = 0.0
        if cost > available and status.restore > 0:
            wait = (min(cost, status.maximum) - available) / status.restore
            log.info(
                "shop_request_throttled", platform=SHOPIFY, source=self._source, wait_seconds=round(wait, 2)
            )
            self._sleep(wait)
        # the points this call spends, as of when it is sent
        left = max(0.0, available + wait * status.restore - cost)
        self._save(ThrottleStatus(status.maximum, left, status.restore), now + wait)

    def observe(self, status: ThrottleStatus) -> None:
        """Shopify's own word on the bucket, from an answer."""
        self._save(status, self._clock())

    def _load(self) -> tuple[ThrottleStatus, float] | None:
        raw = self._store.get(self.key)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return ThrottleStatus(
                float(data["maximum"]), float(data["available"]), float(data["restore"])
            ), float(data["at"])
        except (ValueError, KeyError, TypeError):
            return None

    def _save(self, status: ThrottleStatus, at: float) -> None:
        value = {
            "maximum": status.maximum,
            "available": status.available,
            "restore": status.restore,
            "at": at,
        }
        self._store.set(self.key, json.dumps(value), ttl=STATUS_TTL_SECONDS)
