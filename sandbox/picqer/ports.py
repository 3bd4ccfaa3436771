"""What the Picqer routers use of the simulator, as protocols: the routers never import the simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from sandbox.clock import Clock
from sandbox.delivery import WebhookDispatcher
from sandbox.faults import FaultInjector
from sandbox.picqer.hooks import HookDelivery
from sandbox.picqer.requestlog import RequestLog
from sandbox.picqer.state import PicqerState
from sandbox.ratelimit import SlidingWindowLimiter

T = TypeVar("T")


class SharedPort(Protocol):
    """Used by both routers: the switches, and changes under the state lock with their webhooks."""

    @property
    def limiter(self) -> SlidingWindowLimiter: ...

    @property
    def faults(self) -> FaultInjector: ...

    @property
    def requests(self) -> RequestLog: ...

    def run(self, action: Callable[[PicqerState], T]) -> tuple[T, list[HookDelivery]]: ...

    def deliver(self, deliveries: list[HookDelivery]) -> None: ...


class ApiPort(SharedPort, Protocol):
    @property
    def clock(self) -> Clock: ...

    @property
    def api_key(self) -> str | None: ...


class ControlPort(SharedPort, Protocol):
    @property
    def state(self) -> PicqerState: ...

    @property
    def dispatcher(self) -> WebhookDispatcher: ...

    def reset(self) -> None: ...

    def seed_demo(self) -> None: ...
