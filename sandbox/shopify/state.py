"""The Shopify simulator's memory: stores by name, each with its orders, subscriptions and leaky
bucket, behind one re-entrant lock. Times are rendered as Shopify does: seconds, in the shop's zone.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sandbox.ratelimit import LeakyBucket
from sandbox.shopify.errors import StoreError

SHOP_TIMEZONE = timezone(timedelta(hours=1))  # the demo shop is in Amsterdam (winter time)
DEFAULT_WEBHOOK_SECRET = "shopify-sandbox-webhook-secret"
FIRST_ORDER_NUMBER = 1001
TOKEN_LIFETIME_SECONDS = 86399  # what Shopify's client credentials grant answers as expires_in
# GraphQL bucket of a Standard plan: restores 100 points a second (webshop facts, section 1.3) and
# holds 20 seconds of that, as the older 1000 / 50 pair did (the size is UNCONFIRMED; configurable)
DEFAULT_COST_MAXIMUM = 2000.0
DEFAULT_COST_RESTORE = 100.0

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
    # whose secret signs its deliveries: "app" (made with a client-credentials token: the app's client
    # secret) or "shop" (made with a legacy token or in the store admin: the shop's webhook_secret)
    signed_by: str = "shop"

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


UpdatedKey = tuple[str, int]  # (updated_at in UTC ISO 8601, order id): sorts as time, then id


def updated_key(moment: datetime, order_id: int) -> UpdatedKey:
    """The index key of an order updated at ``moment``: in UTC, so the strings sort as the times do."""
    return moment.astimezone(UTC).isoformat(), order_id


class UpdatedIndex:
    """A store's orders sorted by ``(updated_at, id)``: a page of a listing is found by bisection,
    so it costs the same at the 100,000th order as at the first (re-sorting every order for each
    page made a resync of N orders cost N² in the simulator)."""

    def __init__(self) -> None:
        self.keys: list[UpdatedKey] = []

    def add(self, key: UpdatedKey) -> None:
        bisect.insort(self.keys, key)

    def discard(self, key: UpdatedKey) -> None:
        at = bisect.bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            del self.keys[at]

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class OrderRecord:
    """An order's REST JSON plus what Shopify keeps beside it."""

    data: dict[str, Any]
    updated: datetime  # the keyset position; equals data["updated_at"]; change it with move_to()
    fulfillment_order_id: int
    fulfillment_line_ids: dict[int, int]  # line item id -> fulfillment order line item id
    # the store's index this record is listed in (set by ShopState.add_order)
    index: UpdatedIndex | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> tuple[datetime, int]:
        return self.updated, int(self.data["id"])

    @property
    def updated_key(self) -> UpdatedKey:
        return updated_key(self.updated, int(self.data["id"]))

    def move_to(self, moment: datetime) -> None:
        """Set ``updated`` and keep the store's index in step."""
        if self.index is not None:
            self.index.discard(self.updated_key)
        self.updated = moment
        if self.index is not None:
            self.index.add(self.updated_key)


def derived(kind: str, shop: str, *, prefix: str = "") -> str:
    """A credential of ``shop`` that is the same in every run (the demo and the tests read them)."""
    return prefix + hashlib.sha256(f"shopify-sandbox:{kind}:{shop}".encode()).hexdigest()[:32]


@dataclass
class CostBucket:
    """The GraphQL cost bucket of one store (points restore at a steady rate). Not locked."""

    maximum: float = DEFAULT_COST_MAXIMUM
    restore: float = DEFAULT_COST_RESTORE
    available: float = DEFAULT_COST_MAXIMUM
    last: datetime | None = None

    def refill(self, now: datetime) -> None:
        if self.last is not None and now > self.last:
            elapsed = (now - self.last).total_seconds()
            self.available = min(self.maximum, self.available + elapsed * self.restore)
        if self.last is None or now > self.last:
            self.last = now

    def status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": round(self.available),
            "restoreRate": self.restore,
        }


@dataclass
class ShopState:
    name: str
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    access_token: str | None = None  # the legacy app's token; None: any non-empty token is accepted
    bucket: LeakyBucket = field(default_factory=LeakyBucket)
    cost: CostBucket = field(default_factory=CostBucket)
    # the Dev Dashboard app installed on the store (client credentials grant)
    client_id: str = ""
    client_secret: str = ""
    token_lifetime: int = TOKEN_LIFETIME_SECONDS
    tokens: dict[str, datetime] = field(default_factory=dict)  # issued token -> when it expires
    orders: dict[int, OrderRecord] = field(default_factory=dict)  # add with add_order()
    by_updated: UpdatedIndex = field(default_factory=UpdatedIndex)
    fulfillments: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    next_number: int = FIRST_ORDER_NUMBER
    id: int = field(default_factory=new_id)

    def __post_init__(self) -> None:
        self.client_id = self.client_id or derived("client-id", self.name)
        self.client_secret = self.client_secret or derived("client-secret", self.name, prefix="shpss_")

    @property
    def legacy_token(self) -> str:
        """The legacy custom app's token: the configured one, else a derived one (any passes then)."""
        return self.access_token or derived("access-token", self.name, prefix="shpat_")

    @property
    def domain(self) -> str:
        return f"{self.name}.myshopify.com"

    def order(self, order_id: int | str) -> OrderRecord:
        try:
            return self.orders[int(order_id)]
        except (KeyError, ValueError):
            raise StoreError(404, "Not Found") from None

    def add_order(self, record: OrderRecord) -> None:
        """Keep ``record`` (replacing an order with its id) and list it in the index."""
        order_id = int(record.data["id"])
        replaced = self.orders.get(order_id)
        if replaced is not None:
            self.by_updated.discard(replaced.updated_key)
            replaced.index = None
        self.orders[order_id] = record
        record.index = self.by_updated
        self.by_updated.add(record.updated_key)

    def sorted_orders(self) -> list[OrderRecord]:
        """Every order by ``(updated_at, id)``, read off the index (no sort)."""
        return [self.orders[order_id] for _, order_id in self.by_updated.keys]


class ShopifyState:
    """Stores created on first use, each with a bucket of the simulator's size and leak rate."""

    def __init__(self, *, bucket_size: int, leak_per_second: float, strict_tokens: bool = False) -> None:
        self.lock = threading.RLock()
        self._bucket_size = bucket_size
        self._leak_per_second = leak_per_second
        self._strict_tokens = strict_tokens
        self._shops: dict[str, ShopState] = {}

    def shop(self, name: str) -> ShopState:
        """The store called ``name``, created empty on first use."""
        with self.lock:
            if name not in self._shops:
                bucket = LeakyBucket(size=self._bucket_size, leak_per_second=self._leak_per_second)
                state = ShopState(name=name, bucket=bucket)
                if self._strict_tokens:  # only the shop's own legacy token, not any token
                    state.access_token = state.legacy_token
                self._shops[name] = state
            return self._shops[name]

    def shops(self) -> list[ShopState]:
        with self.lock:
            return list(self._shops.values())

    def clear(self) -> None:
        with self.lock:
            self._shops.clear()
