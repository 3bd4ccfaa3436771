"""The Shopify simulator's memory: stores by name, each with its orders, subscriptions and leaky
bucket, behind one re-entrant lock. Times are rendered as Shopify does: seconds, in the shop's zone.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sandbox.ratelimit import LeakyBucket
from sandbox.shopify.errors import StoreError

SHOP_TIMEZONE = timezone(timedelta(hours=1))  # the demo shop is in Amsterdam (winter time)
DEFAULT_WEBHOOK_SECRET = "shopify-sandbox-webhook-secret"
FIRST_ORDER_NUMBER = 1001

_ids = itertools.count(5_200_000_000_001)


def new_id() -> int:
    """A fresh id, unique across shops and kinds (Shopify ids are global int64s)."""
    return next(_ids)


def render_time(moment: datetime) -> str:
    return moment.astimezone(SHOP_TIMEZONE).isoformat(timespec="seconds")


@dataclass
class Subscription:
    id: int
    topic: str
    address: str
    api_version: str
    created_at: str
    format: str = "json"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "address": self.address,
            "topic": self.topic,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "format": self.format,
            "fields": [],
            "metafield_namespaces": [],
            "api_version": self.api_version,
        }


@dataclass
class OrderRecord:
    """An order's REST JSON plus what Shopify keeps beside it."""

    data: dict[str, Any]
    updated: datetime  # the keyset position; equals data["updated_at"]
    fulfillment_order_id: int
    fulfillment_line_ids: dict[int, int]  # line item id -> fulfillment order line item id

    @property
    def key(self) -> tuple[datetime, int]:
        return self.updated, int(self.data["id"])


@dataclass
class ShopState:
    name: str
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    access_token: str | None = None  # None: any non-empty token is accepted
    bucket: LeakyBucket = field(default_factory=LeakyBucket)
    orders: dict[int, OrderRecord] = field(default_factory=dict)
    fulfillments: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    next_number: int = FIRST_ORDER_NUMBER
    id: int = field(default_factory=new_id)

    @property
    def domain(self) -> str:
        return f"{self.name}.myshopify.com"

    def order(self, order_id: int | str) -> OrderRecord:
        try:
            return self.orders[int(order_id)]
        except (KeyError, ValueError):
            raise StoreError(404, "Not Found") from None

    def sorted_orders(self) -> list[OrderRecord]:
        return sorted(self.orders.values(), key=lambda record: record.key)


class ShopifyState:
    """Stores created on first use, each with a bucket of the simulator's size and leak rate."""

    def __init__(self, *, bucket_size: int, leak_per_second: float) -> None:
        self.lock = threading.RLock()
        self._bucket_size = bucket_size
        self._leak_per_second = leak_per_second
        self._shops: dict[str, ShopState] = {}

    def shop(self, name: str) -> ShopState:
        """The store called ``name``, created empty on first use."""
        with self.lock:
            if name not in self._shops:
                bucket = LeakyBucket(size=self._bucket_size, leak_per_second=self._leak_per_second)
                self._shops[name] = ShopState(name=name, bucket=bucket)
            return self._shops[name]

    def clear(self) -> None:
        with self.lock:
            self._shops.clear()
