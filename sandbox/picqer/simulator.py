"""The Picqer simulator: Picqer's Orders API and the resources around it, in memory.

``api`` (see api.py) is mounted at ``/picqer/api/v1`` and ``control`` (see control.py) at
``/_sandbox/picqer``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sandbox.clock import Clock
from sandbox.delivery import WebhookDispatcher
from sandbox.faults import FaultInjector
from sandbox.picqer.api import build_api_router
from sandbox.picqer.control import build_control_router
from sandbox.picqer.hooks import HookDelivery, build_deliveries, record_outcome
from sandbox.picqer.requestlog import RequestLog
from sandbox.picqer.seed import seed_demo
from sandbox.picqer.state import PicqerState
from sandbox.ratelimit import SlidingWindowLimiter

DEFAULT_RATE_LIMIT = 500  # Picqer's documented normal limit, requests per minute
T = TypeVar("T")


class PicqerSimulator:
    name = "picqer"

    def __init__(
        self,
        *,
        clock: Clock,
        dispatcher: WebhookDispatcher,
        rate_limit: int | None = DEFAULT_RATE_LIMIT,
        api_key: str | None = None,
    ) -> None:
        self.clock = clock
        self.dispatcher = dispatcher
        self.api_key = api_key  # None: any non-empty key is accepted
        self.state = PicqerState(clock)
        self._rate_limit = rate_limit
        self.limiter = SlidingWindowLimiter(limit=rate_limit, now=clock.now)
        self.faults = FaultInjector()
        self.requests = RequestLog()
        self.api = build_api_router(self)
        self.control = build_control_router(self)

    def reset(self) -> None:
        """Empty everything: records, faults, request log, deliveries, the rate window."""
        with self.state.lock:
            self.state.clear()
        self.faults.clear()
        self.requests.clear()
        self.limiter.set_limit(self._rate_limit)
        self.dispatcher.reset()

    def seed_demo(self) -> None:
        with self.state.lock:
            seed_demo(self.state)

    def run(self, action: Callable[[PicqerState], T]) -> tuple[T, list[HookDelivery]]:
        """Apply ``action`` under the lock; return its result and the webhooks it raised."""
        with self.state.lock:
            try:
                result = action(self.state)
            finally:
                deliveries = build_deliveries(self.state, self.state.drain_events())
        return result, deliveries

    def deliver(self, deliveries: list[HookDelivery]) -> None:
        """Send outside the state lock (a receiver may call the API back while it answers)."""
        for item in deliveries:
            self.dispatcher.dispatch(item.delivery)
            with self.state.lock:
                record_outcome(self.state, item.idhook, item.delivery)
