"""Ingest first: in ``run``, worker threads hold back while the receiver has a burst to store.

``run`` keeps the receiver and the worker threads in one process: one GIL, and with SQLite one
file lock. During a burst of webhooks every worker thread that maps an order and writes the
mirror takes CPU and the database's lock from the receiver, whose answers the shops wait for
(Shopify gives up after 5 s and counts a failure), while the pushes those threads would start
wait on Picqer's rate limit anyway: a few hundred requests a minute is a handful of orders a
second, whatever the burst. So while the receiver has at least ``BUSY_IN_FLIGHT`` webhooks
waiting for the inbox, a worker thread waits (up to ``MAX_HOLD_SECONDS`` per message, so work is
never starved) before it starts its next message. A trickle of webhooks never reaches the
threshold: an order's latency stays what it was.

Split deployments need none of this: ``web`` and ``worker`` are separate processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# webhooks waiting for the inbox at once that make a burst; one webhook takes a few milliseconds,
# so a trickle (even tens a second) stays far below
BUSY_IN_FLIGHT = 8
MAX_HOLD_SECONDS = 2.0  # a message waits at most this long for a burst to pass, then runs anyway
POLL_SECONDS = 0.005


class IngestPressure:
    """How many webhooks the receiver has in flight, as its gate reports them; read by workers."""

    def __init__(
        self,
        *,
        busy_at: int = BUSY_IN_FLIGHT,
        max_hold: float = MAX_HOLD_SECONDS,
        poll: float = POLL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.busy_at = busy_at
        self.max_hold = max_hold
        self.poll = poll
        self._clock = clock
        self._sleep = sleep
        self._source: Callable[[], int] | None = None
        self._lock = threading.Lock()

    def watch(self, in_flight: Callable[[], int]) -> None:
        """Read the receiver's in-flight count from ``in_flight`` (the gate's, once it exists)."""
        with self._lock:
            self._source = in_flight

    def busy(self) -> bool:
        source = self._source
        return source is not None and source() >= self.busy_at

    def hold(self) -> float:
        """Wait while the receiver is busy, at most ``max_hold`` seconds; the seconds waited."""
        started = self._clock()
        waited = 0.0
        while self.busy() and waited < self.max_hold:
            self._sleep(self.poll)
            waited = self._clock() - started
        return waited


__all__ = ["BUSY_IN_FLIGHT", "MAX_HOLD_SECONDS", "IngestPressure"]
