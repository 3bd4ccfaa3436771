"""The simulator's memory: shops with orders, refunds, notes and webhooks, behind one re-entrant lock.

Every change holds ``WooState.lock``; webhooks raised by a change are sent after it is released, so a
receiver may call back into the API while handling one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.clock import Clock
from sandbox.woocommerce import orders as build
from sandbox.woocommerce.errors import invalid_order
from sandbox.woocommerce.index import OrderIndex

DEFAULT_WEBHOOK_SECRET = "woocommerce-sandbox-secret"
DEFAULT_UTC_OFFSET = timedelta(hours=2)  # site time differs from GMT, as on real stores
MAX_DELIVERY_FAILURES = 5  # Woo disables a webhook after more than this many failures in a row
ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
WEBHOOK_RESOURCES = ("order", "product", "customer", "coupon")
WEBHOOK_EVENTS = ("created", "updated", "deleted", "restored")
OrderJSON = dict[str, Any]  # the order as Woo serves it: the simulator keeps this JSON as its state


@dataclass
class Webhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    status: str
    created: datetime
    failure_count: int = 0

    def as_json(self, utc_offset: timedelta, *, with_secret: bool = False) -> dict[str, Any]:
        resource, _, event = self.topic.partition(".")
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "topic": self.topic,
            "resource": resource,
            "event": event,
            "hooks": [],
            "delivery_url": self.delivery_url,
            "date_created": (self.created + utc_offset).strftime("%Y-%m-%dT%H:%M:%S"),
            "date_created_gmt": self.created.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        if with_secret:  # Woo never shows the secret again; the control API may
            body["secret"] = self.secret
            body["failure_count"] = self.failure_count
        return body


@dataclass
class Shop:
    name: str
    utc_offset: timedelta = DEFAULT_UTC_OFFSET
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by order id, newest first
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by order id, oldest first
    status_before_trash: dict[int, str] = field(default_factory=dict)
    webhooks: dict[int, Webhook] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)  # sku -> product id
    next_post_id: int = 1000  # orders and refunds are posts in WordPress: one id sequence
    next_item_id: int = 1
    next_note_id: int = 1
    next_meta_id: int = 1
    next_webhook_id: int = 1
    # the orders in listing order (sandbox/woocommerce/index.py): add and remove orders with
    # add_order() and remove_order(); every change reindexes through WooState.touch
    index: OrderIndex = field(default_factory=OrderIndex)

    def add_order(self, order: OrderJSON) -> None:
        self.orders[order["id"]] = order
        self.index.add(order)

    def remove_order(self, order_id: int) -> OrderJSON | None:
        self.index.remove(order_id)
        return self.orders.pop(order_id, None)

    def post_id(self) -> int:
        self.next_post_id += 1
        return self.next_post_id

    def item_id(self) -> int:
        self.next_item_id += 1
        return self.next_item_id

    def meta_id(self) -> int:
        self.next_meta_id += 1
        return self.next_meta_id

    def product_id(self, sku: str) -> int:
        return self.products.setdefault(sku or f"no-sku-{len(self.products)}", 10 + len(self.products))

    def order(self, order_id: int) -> dict[str, Any]:
        try:
            return self.orders[order_id]
        except KeyError:
            raise invalid_order(order_id) from None


class WooState:
    """The shops of one simulator (created on first use), the lock over them, the clock that stamps them."""

    def __init__(self, *, clock: Clock, public_url: str) -> None:
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.lock = threading.RLock()
        self._shops: dict[str, Shop] = {}

    def shop(self, name: str) -> Shop:
        with self.lock:
            return self._shops.setdefault(name, Shop(name=name))

    def clear(self) -> None:
        with self.lock:
            self._shops.clear()

    def names(self) -> list[str]:
        """The shops there are, by name."""
        with self.lock:
            return sorted(self._shops)

    def now(self) -> datetime:
        # WordPress keeps times to the second; so do we, which makes same-second ties real
        return self.clock.now().astimezone(UTC).replace(microsecond=0, tzinfo=None)

    def api_base(self, shop: str) -> str:
        return f"{self.public_url}/{shop}/wp-json/wc/v3/"

    def touch(self, shop: Shop, order: OrderJSON) -> None:
        build.stamp(order, "date_modified", self.now(), shop.utc_offset)
        shop.index.update(order)  # the new stamp, and whatever else changed (the status, say)
