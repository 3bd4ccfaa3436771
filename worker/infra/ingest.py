"""Ingest first: in ``run``, worker threads hold back while the receiver has a burst to store.

``run`` keeps the receiver and the worker threads in one process: one GIL, and with SQLite one
file lock. During a burst of webhooks every worker thread that maps an order and writes the
mirror takes CPU and the database's lock from the receiver, whose answers the shops wait for
(Shopify gives up after 5 s and counts a failure), while the pushes those threads would start
wait on Picqer's rate limit anyway: a few hundred requests a minute is a handful of orders a
second, whatever the burst. So while the receiver is in a burst (an admission saw at least
``BUSY_IN_FLIGHT`` webhooks waiting for the inbox within ``LINGER_SECONDS``), a worker thread
waits (up to ``MAX_HOLD_SECONDS`` per message, so work is never starved) before it starts its
next message. A trickle of webhooks never reaches the threshold: an order's latency stays what
it was.

Split deployments need none of this: ``web`` and ``worker`` are separate processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# webhooks waiting for the inbox at once that make a burst; one webhook takes a few milliseconds,
# so a trickle (even tens a second) stays far below
BUSY_IN_FLIGHT = 8
# a burst counts as going on this long after the last admission that saw BUSY_IN_FLIGHT: between two
# group commits the count dips to nothing for a moment, which is not the end of a burst
LINGER_SECONDS = 0.25
MAX_HOLD_SECONDS = 2.0  # a message waits at most this long for a burst to pass, then runs anyway
POLL_SECONDS = 0.005


class IngestPressure:
    """Whether the receiver is in a burst, as its gate reports each admission; read by workers."""

    def __init__(
        self,
        *,
        busy_at: int = BUSY_IN_FLIGHT,
        linger: float = LINGER_SECONDS,
        max_hold: float = MAX_HOLD_SECONDS,
        poll: float = POLL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.busy_at = busy_at
        self.linger = linger
        self.max_hold = max_hold
        self.poll = poll
        self._clock = clock
        self._sleep = sleep
        self._last_burst: float | None = None  # when an admission last saw busy_at in flight

    def note(self, in_flight: int) -> None:
        """The receiver's gate, after each admission: ``in_flight`` webhooks wait for the inbox."""
        if in_flight >= self.busy_at:
            self._last_burst = self._clock()  # one float written: no lock needed on the hot path

    def busy(self) -> bool:
        last = self._last_burst
        return last is not None and self._clock() - last < self.linger

    def hold(self) -> float:
        """Wait while the receiver is busy, at most ``max_hold`` seconds; the seconds waited."""
        started = self._clock()
        waited = 0.0
        while self.busy() and waited < self.max_hold:
            self._sleep(self.poll)
            waited = self._clock() - started
        return waited


__all__ = ["BUSY_IN_FLIGHT", "LINGER_SECONDS", "MAX_HOLD_SECONDS", "IngestPressure"]
