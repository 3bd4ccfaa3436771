"""What the Shopify routers call on the simulator, as protocols: the routers never import it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sandbox.clock import Clock
from sandbox.delivery import Delivery, WebhookDispatcher
from sandbox.shopify.state import ShopState, Subscription

T = TypeVar("T")


class SharedPort(Protocol):
    """Called by both routers."""

    def subscribe(
        self,
        shop: str,
        topic: str,
        address: str,
        *,
        api_version: str | None = None,
        signed_by: str = "shop",
    ) -> Subscription: ...


class GraphQLPort(SharedPort, Protocol):
    """What the GraphQL resolvers call: reads under the lock, changes through the simulator."""

    def run_locked(self, work: Callable[[], T]) -> T: ...

    def fulfil(self, shop: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def unsubscribe(self, shop: str, subscription_id: int) -> None: ...


class ApiPort(GraphQLPort, Protocol):
    """Reads run under the simulator's lock; changes go through it, which signs the webhooks."""

    @property
    def clock(self) -> Clock: ...

    def shop(self, name: str) -> ShopState: ...


class ControlPort(SharedPort, Protocol):
    @property
    def dispatcher(self) -> WebhookDispatcher: ...

    def reset(self) -> None: ...

    def seed_demo(self) -> None: ...

    def configure(self, shop: str, **settings: Any) -> dict[str, Any]: ...

    def create_order(
        self, shop: str, spec: dict[str, Any], *, financial_status: str = "paid"
    ) -> dict[str, Any]: ...

    def seed_orders(
        self,
        shop: str,
        count: int,
        *,
        template_name: str = "ipod",
        financial_status: str = "paid",
        spacing_seconds: float = 1.0,
    ) -> int: ...

    def pay(self, shop: str, order_id: int | str) -> dict[str, Any]: ...

    def edit(self, shop: str, order_id: int | str, changes: dict[str, Any]) -> dict[str, Any]: ...

    def refund(self, shop: str, order_id: int | str, line_items: list[dict[str, Any]]) -> dict[str, Any]: ...

    def cancel(self, shop: str, order_id: int | str, *, reason: str = "customer") -> dict[str, Any]: ...

    def orders(self, shop: str) -> list[dict[str, Any]]: ...

    def fulfillments(self, shop: str) -> list[dict[str, Any]]: ...

    def deliveries(self) -> list[Delivery]: ...

    def redeliver(self, index: int) -> Delivery: ...
