"""The Shopify simulator: stores with orders, the client credentials grant, the Admin REST and
GraphQL APIs, signed order webhooks.

Each store has two apps: a legacy custom app with a permanent ``access_token`` (by default the store
accepts any non-empty one, as the demo and older tests expect; ``strict_tokens=True`` accepts only
its own) whose API-made webhooks are signed with the store's ``webhook_secret``, and a Dev Dashboard
app with a ``client_id`` and ``client_secret`` that get tokens from the grant, expiring after
``token_lifetime`` seconds on the sandbox clock, and whose webhooks are signed with its client
secret. Every store's credentials are derived from its name, so they are the same in every run;
:meth:`ShopifySimulator.credentials` lists them.

Mounted by ``sandbox/app.py``: ``api`` (see api.py) at ``/shopify``, so a store's API root is
``/shopify/{shop}/admin/api/{version}/``, and ``control`` (see control.py) at ``/_sandbox/shopify``.
Stores are created on first use. Every method is thread-safe; webhooks are sent after the lock is
released, so a receiver that calls back into the API never deadlocks.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sandbox.clock import Clock
from sandbox.delivery import Delivery, WebhookDispatcher
from sandbox.ratelimit import DEFAULT_BUCKET_SIZE, DEFAULT_LEAK_PER_SECOND
from sandbox.shopify import fulfilment, render, store, webhooks
from sandbox.shopify.api import build_api_router
from sandbox.shopify.control import build_control_router
from sandbox.shopify.state import OrderRecord, ShopifyState, ShopState, Subscription
from sandbox.shopify.templates import template

DEMO_SHOP = "demo-shop"
DEFAULT_API_VERSION = "2026-07"
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
        api_version: str = DEFAULT_API_VERSION,
        strict_tokens: bool = False,
    ) -> None:
        self.clock = clock
        self.dispatcher = dispatcher
        self.api_version = api_version
        self.state = ShopifyState(
            bucket_size=bucket_size, leak_per_second=leak_per_second, strict_tokens=strict_tokens
        )
        self.api = build_api_router(self)
        self.control = build_control_router(self)

    # -- stores ------------------------------------------------------------------------------

    def shop(self, name: str) -> ShopState:
        """The store called ``name``, created empty on first use."""
        return self.state.shop(name)

    def reset(self) -> None:
        self.state.clear()

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

    def credentials(self) -> dict[str, dict[str, str]]:
        """Every store's credentials by store name: the Dev Dashboard app's ``client_id`` and
        ``client_secret``, the legacy app's ``access_token``, and the ``webhook_secret``."""
        with self.state.lock:
            self.shop(DEMO_SHOP)  # seeded or not, the demo store is always there to connect to
            return {
                state.name: {
                    "client_id": state.client_id,
                    "client_secret": state.client_secret,
                    "access_token": state.legacy_token,
                    "webhook_secret": state.webhook_secret,
                }
                for state in self.state.shops()
            }

    def configure(self, shop: str, **settings: Any) -> dict[str, Any]:
        """Set webhook_secret, access_token, bucket_size, leak_per_second, client_id, client_secret,
        token_lifetime, cost_maximum, cost_restore; None leaves one unchanged."""
        with self.state.lock:
            state = self.shop(shop)
            for name in ("client_id", "client_secret"):
                if settings.get(name):
                    setattr(state, name, str(settings[name]))
            if settings.get("token_lifetime") is not None:
                state.token_lifetime = int(settings["token_lifetime"])
            if settings.get("cost_maximum") is not None:
                state.cost.maximum = float(settings["cost_maximum"])
                state.cost.available = min(state.cost.available, state.cost.maximum)
            if settings.get("cost_restore") is not None:
                state.cost.restore = float(settings["cost_restore"])
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
                "client_id": state.client_id,
                "client_secret": state.client_secret,
                "token_lifetime": state.token_lifetime,
                "cost_maximum": state.cost.maximum,
                "cost_restore": state.cost.restore,
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

    def seed_orders(
        self,
        shop: str,
        count: int,
        *,
        template_name: str = "ipod",
        financial_status: str = "paid",
        spacing_seconds: float = 1.0,
    ) -> int:
        """``count`` orders from a template at once, for benchmarks: the last one made now, each
        earlier one ``spacing_seconds`` before the next (so a listing has distinct ``updated_at``
        values). No webhooks are sent, and no copy is returned: seeding 100,000 orders takes seconds.
        Returns how many orders the store holds."""
        spec = {**template(template_name), "financial_status": financial_status}
        now = self._now()
        with self.state.lock:
            state = self.shop(shop)
            for index in range(count):
                moment = now - timedelta(seconds=spacing_seconds * (count - 1 - index))
                store.create_order(state, spec, moment)
            count = len(state.orders)
        # the orders live as long as the store: the collector need not walk them again (100,000
        # orders made every full collection, and so every page, a third slower)
        gc.freeze()
        return count

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
        with self.state.lock:
            return _copy(self.shop(shop).fulfillments)

    def import_order(self, shop: str, data: dict[str, Any]) -> dict[str, Any]:
        """Store ``data`` (a REST order as Shopify sent it, e.g. a sample) as it is; no webhook."""
        with self.state.lock:
            return _copy(store.import_order(self.shop(shop), _copy(data)).data)

    def order_graphql(self, shop: str, order_id: int | str) -> dict[str, Any]:
        """The order as the GraphQL Admin API answers it, every connection in one page of ``nodes``."""
        with self.state.lock:
            state = self.shop(shop)
            node = render.order_node(state, state.order(order_id))
        for name in ("lineItems", "shippingLines", "fulfillmentOrders"):
            node[name] = {"nodes": node[name]}
        return _copy(node)

    def order(self, shop: str, order_id: int | str) -> dict[str, Any]:
        with self.state.lock:
            return _copy(self.shop(shop).order(order_id).data)

    def orders(self, shop: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return [_copy(record.data) for record in self.shop(shop).sorted_orders()]

    # -- webhook subscriptions -----------------------------------------------------------------

    def subscribe(
        self,
        shop: str,
        topic: str,
        address: str,
        *,
        api_version: str | None = None,
        signed_by: str = "shop",
    ) -> Subscription:
        """A subscription; 422 when this topic already goes to this address (as Shopify answers).
        ``signed_by`` "app": made by the client-credentials app, whose client secret signs it."""
        webhooks.check_subscription(topic, address)
        with self.state.lock:
            return webhooks.subscribe(
                self.shop(shop),
                topic,
                address,
                api_version=api_version or self.api_version,
                now=self._now(),
                signed_by=signed_by,
            )

    def unsubscribe(self, shop: str, subscription_id: int) -> None:
        with self.state.lock:
            webhooks.unsubscribe(self.shop(shop), subscription_id)

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

    def run_locked(self, work: Callable[[], T]) -> T:
        """Run ``work`` under the simulator's lock (the API's reads)."""
        with self.state.lock:
            return work()

    # -- internals ---------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock.now()

    def _change(
        self, shop: str, apply: Callable[[ShopState], tuple[OrderRecord, list[str]]]
    ) -> dict[str, Any]:
        with self.state.lock:
            state = self.shop(shop)
            record, topics = apply(state)
            deliveries = webhooks.deliveries(state, record, topics, self._now())
            snapshot = _copy(record.data)
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


def _copy(value: T) -> T:
    """A deep copy through JSON, so no caller holds a piece of the live state."""
    return cast(T, json.loads(json.dumps(value)))
