"""What the WooCommerce routers call on the simulator, as protocols: the routers never import it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sandbox.delivery import WebhookDispatcher
from sandbox.woocommerce.gate import ApiCall, WooFaults
from sandbox.woocommerce.state import ORDER_TOPICS, OrderJSON


class SharedPort(Protocol):
    """Called by both routers."""

    def get_order(self, shop: str, order_id: int) -> OrderJSON: ...

    def edit(
        self,
        shop: str,
        order_id: int,
        *,
        billing: dict[str, str] | None = None,
        shipping: dict[str, str] | None = None,
        customer_note: str | None = None,
        status: str | None = None,
    ) -> OrderJSON: ...

    def trash(self, shop: str, order_id: int) -> OrderJSON: ...

    def delete(self, shop: str, order_id: int) -> OrderJSON: ...

    def notes(self, shop: str, order_id: int) -> list[OrderJSON]: ...

    def list_webhooks(self, shop: str, *, with_secret: bool = False) -> list[OrderJSON]: ...


class ApiPort(SharedPort, Protocol):
    def gate(self, call: ApiCall) -> None: ...

    def list_orders(
        self, shop: str, query: Mapping[str, Sequence[str]]
    ) -> tuple[list[OrderJSON], int, int, int]: ...

    def refunds(self, shop: str, order_id: int) -> list[OrderJSON]: ...

    def add_note(self, shop: str, order_id: int, note: str, *, customer_note: bool) -> OrderJSON: ...

    def create_webhook(
        self,
        shop: str,
        *,
        topic: str,
        delivery_url: str,
        secret: str | None = None,
        name: str | None = None,
        status: str = "active",
    ) -> OrderJSON: ...

    def get_webhook(self, shop: str, hook_id: int) -> OrderJSON: ...

    def update_webhook(self, shop: str, hook_id: int, fields: Mapping[str, Any]) -> OrderJSON: ...

    def delete_webhook(self, shop: str, hook_id: int) -> OrderJSON: ...


class ControlPort(SharedPort, Protocol):
    @property
    def faults(self) -> WooFaults: ...

    @property
    def dispatcher(self) -> WebhookDispatcher: ...

    def reset(self) -> None: ...

    def seed_demo(self) -> None: ...

    def all_orders(self, shop: str) -> list[OrderJSON]: ...

    def create_order(
        self,
        shop: str,
        *,
        status: str = "processing",
        line_items: Sequence[Mapping[str, Any]] = (),
        billing: dict[str, str] | None = None,
        shipping: dict[str, str] | None = None,
        customer_note: str = "",
    ) -> OrderJSON: ...

    def pay(self, shop: str, order_id: int) -> OrderJSON: ...

    def set_status(self, shop: str, order_id: int, status: str) -> OrderJSON: ...

    def refund(
        self,
        shop: str,
        order_id: int,
        *,
        line_id: int | None = None,
        quantity: int = 1,
        amount: float | None = None,
        reason: str = "",
    ) -> OrderJSON: ...

    def cancel(self, shop: str, order_id: int) -> OrderJSON: ...

    def restore(self, shop: str, order_id: int) -> OrderJSON: ...

    def fulfilments(self, shop: str) -> list[dict[str, Any]]: ...

    def set_webhook_secret(self, shop: str, secret: str) -> None: ...

    def register_delivery_address(
        self, shop: str, delivery_url: str, *, topics: Sequence[str] = ORDER_TOPICS, secret: str | None = None
    ) -> list[OrderJSON]: ...

    def delivery_log(self, shop: str | None = None) -> list[dict[str, Any]]: ...

    def keys(self, shop: str) -> dict[str, str]: ...

    def credentials(self) -> dict[str, dict[str, str]]: ...
