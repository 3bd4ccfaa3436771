"""The Shopify simulator: stores with orders, the Admin REST API, signed order webhooks.

Mounted by ``sandbox/app.py``: ``api`` at ``/shopify`` (so a store's API root is
``/shopify/{shop}/admin/api/{version}/``) and ``control`` at ``/_sandbox/shopify``. Stores are
created on first use. Every method is thread-safe; webhooks are sent after the lock is released,
so a receiver that calls back into the API never deadlocks.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sandbox.clock import Clock
from sandbox.delivery import Delivery, WebhookDispatcher
from sandbox.shopify import fulfilment, store
from sandbox.shopify.bucket import DEFAULT_BUCKET_SIZE, DEFAULT_LEAK_PER_SECOND, LeakyBucket
from sandbox.shopify.signing import sign
from sandbox.shopify.store import OrderRecord, ShopState, StoreError, Subscription
from sandbox.shopify.templates import template

DEMO_SHOP = "demo-shop"
T = TypeVar("T")


class ShopifySimulator:
    """Shopify stores in memory; see the module docstring for the URLs."""

    def __init__(
        self,
        *,
        clock: Clock,
        dispatcher: WebhookDispatcher,
        bucket_size: int = DEFAULT_BUCKET_SIZE,
        leak_per_second: float = DEFAULT_LEAK_PER_SECOND,
        api_version: str = store.DEFAULT_API_VERSION,
    ) -> None:
        from sandbox.shopify.api import build_api_router
        from sandbox.shopify.control import build_control_router

        self.clock = clock
        self.dispatcher = dispatcher
        self.api_version = api_version
        self._bucket_size = bucket_size
        self._leak_per_second = leak_per_second
        self._lock = threading.RLock()
        self._shops: dict[str, ShopState] = {}
        self.api = build_api_router(self)
        self.control = build_control_router(self)

    # -- stores ------------------------------------------------------------------------------

    def shop(self, name: str) -> ShopState:
        """The store called ``name``, created empty on first use."""
        with self._lock:
            if name not in self._shops:
                bucket = LeakyBucket(size=self._bucket_size, leak_per_second=self._leak_per_second)
                self._shops[name] = ShopState(name=name, bucket=bucket)
            return self._shops[name]

    def reset(self) -> None:
        with self._lock:
            self._shops.clear()

    def seed_demo(self) -> None:
        """``demo-shop`` with paid, authorized, cancelled and partly refunded orders."""
        self.create_order(DEMO_SHOP, template("ipod"), financial_status="paid")
        self.create_order(DEMO_SHOP, template("tshirt"), financial_status="paid")
        self.create_order(DEMO_SHOP, template("mug"), financial_status="paid")
        self.create_order(DEMO_SHOP, template("tshirt"), financial_status="authorized")
        cancelled = self.create_order(DEMO_SHOP, template("ipod"), financial_status="paid")
        self.cancel(DEMO_SHOP, cancelled["id"], reason="customer")
        refunded = self.create_order(DEMO_SHOP, template("tshirt"), financial_status="paid")
        self.refund(DEMO_SHOP, refunded["id"], [{"sku": "TSHIRT-RED-M", "quantity": 1}])

    def configure(self, shop: str, **settings: Any) -> dict[str, Any]:
        """Set webhook_secret, access_token, bucket_size, leak_per_second; None leaves one unchanged."""
        with self._lock:
            state = self.shop(shop)
            if settings.get("webhook_secret") is not None:
                state.webhook_secret = settings["webhook_secret"]
            if "access_token" in settings and settings["access_token"] is not None:
                state.access_token = settings["access_token"] or None  # "" accepts any token again
            if settings.get("bucket_size") is not None:
                state.bucket.size = int(settings["bucket_size"])
                state.bucket.level = min(state.bucket.level, float(max(state.bucket.size, 0)))
            if settings.get("leak_per_second") is not None:
                state.bucket.leak_per_second = float(settings["leak_per_second"])
            return {
                "shop": state.name,
                "domain": state.domain,
                "webhook_secret": state.webhook_secret,
                "access_token": state.access_token,
                "bucket_size": state.bucket.size,
                "leak_per_second": state.bucket.leak_per_second,
            }

    # -- merchant actions (each fires the webhooks Shopify would) ------------------------------

    def create_order(
        self, shop: str, spec: dict[str, Any], *, financial_status: str = "paid"
    ) -> dict[str, Any]:
        """A new order from REST-shaped ``spec``; returns its JSON."""
        return self._change(
            shop,
            lambda state: store.create_order(
                state, {**spec, "financial_status": financial_status}, self._now()
            ),
        )

    def pay(self, shop: str, order_id: int | str) -> dict[str, Any]:
        return self._change_order(shop, order_id, lambda record: store.pay(record, self._now()))

    def edit(self, shop: str, order_id: int | str, changes: dict[str, Any]) -> dict[str, Any]:
        return self._change_order(shop, order_id, lambda record: store.edit(record, changes, self._now()))

    def refund(self, shop: str, order_id: int | str, line_items: list[dict[str, Any]]) -> dict[str, Any]:
        return self._change_order(
            shop, order_id, lambda record: store.refund(record, line_items, self._now())
        )

    def cancel(self, shop: str, order_id: int | str, *, reason: str = "customer") -> dict[str, Any]:
        return self._change_order(shop, order_id, lambda record: store.cancel(record, reason, self._now()))

    def fulfil(self, shop: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST fulfillments.json``; returns the fulfillment."""
        result: dict[str, Any] = {}

        def apply(state: ShopState) -> tuple[OrderRecord, list[str]]:
            record, fulfillment, topics = fulfilment.create_fulfillment(state, body, self._now())
            result.update(fulfillment)
            return record, topics

        self._change(shop, apply)
        return result

    def fulfillments(self, shop: str) -> list[dict[str, Any]]:
        with self._lock:
            return json.loads(json.dumps(self.shop(shop).fulfillments))  # type: ignore[no-any-return]

    def order(self, shop: str, order_id: int | str) -> dict[str, Any]:
        with self._lock:
            return _snapshot(self.shop(shop).order(order_id))

    def orders(self, shop: str) -> list[dict[str, Any]]:
        with self._lock:
            return [_snapshot(record) for record in self.shop(shop).sorted_orders()]

    # -- webhook subscriptions -----------------------------------------------------------------

    def subscribe(
        self, shop: str, topic: str, address: str, *, api_version: str | None = None
    ) -> Subscription:
        """A subscription; 422 when this topic already goes to this address (as Shopify answers)."""
        if topic not in store.ORDER_TOPICS:
            raise StoreError(422, {"topic": ["Invalid topic specified."]})
        if not address.startswith(("http://", "https://")):
            raise StoreError(422, {"address": ["is invalid"]})
        with self._lock:
            state = self.shop(shop)
            if any(sub.topic == topic and sub.address == address for sub in state.subscriptions):
                raise StoreError(422, {"address": ["for this topic has already been taken"]})
            subscription = Subscription(
                id=store.new_id(),
                topic=topic,
                address=address,
                api_version=api_version or self.api_version,
                created_at=store.render_time(self._now()),
            )
            state.subscriptions.append(subscription)
            return subscription

    def unsubscribe(self, shop: str, subscription_id: int) -> None:
        with self._lock:
            state = self.shop(shop)
            kept = [sub for sub in state.subscriptions if sub.id != subscription_id]
            if len(kept) == len(state.subscriptions):
                raise StoreError(404, "Not Found")
            state.subscriptions = kept

    def deliveries(self) -> list[Delivery]:
        """The dispatcher's outbox, Shopify's deliveries only (the dispatcher may be shared)."""
        return [item for item in self.dispatcher.log if "X-Shopify-Topic" in item.headers]

    def redeliver(self, index: int) -> Delivery:
        """Send a logged delivery again with the same headers, as Shopify's retries do."""
        original = self.deliveries()[index]
        again = Delivery(
            url=original.url, headers=dict(original.headers), body=original.body, topic=original.topic
        )
        self.dispatcher.dispatch(again)
        return again

    # -- internals ---------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock.now()

    def _change(
        self, shop: str, apply: Callable[[ShopState], tuple[OrderRecord, list[str]]]
    ) -> dict[str, Any]:
        with self._lock:
            state = self.shop(shop)
            record, topics = apply(state)
            deliveries = self._deliveries(state, record, topics)
            snapshot = _snapshot(record)
        for delivery in deliveries:
            self.dispatcher.dispatch(delivery)
        return snapshot

    def _change_order(
        self, shop: str, order_id: int | str, apply: Callable[[OrderRecord], list[str]]
    ) -> dict[str, Any]:
        def on_state(state: ShopState) -> tuple[OrderRecord, list[str]]:
            record = state.order(order_id)
            return record, apply(record)

        return self._change(shop, on_state)

    def _deliveries(self, state: ShopState, record: OrderRecord, topics: list[str]) -> list[Delivery]:
        body = json.dumps(record.data).encode("utf-8")
        triggered_at = self._now().isoformat().replace("+00:00", "Z")
        deliveries = []
        for topic in topics:
            event_id = str(uuid.uuid4())  # one event per topic; one delivery (webhook id) per subscription
            for subscription in state.subscriptions:
                if subscription.topic != topic:
                    continue
                headers = {
                    "Content-Type": "application/json",
                    "X-Shopify-Topic": topic,
                    "X-Shopify-Hmac-Sha256": sign(body, state.webhook_secret),
                    "X-Shopify-Shop-Domain": state.domain,
                    "X-Shopify-API-Version": subscription.api_version,
                    "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                    "X-Shopify-Event-Id": event_id,
                    "X-Shopify-Triggered-At": triggered_at,
                }
                deliveries.append(Delivery(url=subscription.address, headers=headers, body=body, topic=topic))
        return deliveries

    def run_locked(self, work: Callable[[], T]) -> T:
        """Run ``work`` under the simulator's lock (the API's reads)."""
        with self._lock:
            return work()


def _snapshot(record: OrderRecord) -> dict[str, Any]:
    return json.loads(json.dumps(record.data))  # type: ignore[no-any-return]
