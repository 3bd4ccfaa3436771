"""A WooCommerce store (REST v3) with signed webhooks, for tests and the demo.

``WooCommerceSimulator(clock=..., dispatcher=...)`` keeps any number of shops (created on first
use) addressed as ``/woocommerce/{shop}/wp-json/wc/v3/...``. Every change bumps the order's
``date_modified`` and sends the webhooks Woo would send, signed like ``WC_Webhook`` signs them,
through the shared :class:`~sandbox.delivery.WebhookDispatcher`. Deliveries go out after the state
lock is released, so a receiver may call back into the API while handling one.

The simulator composes parts, one job each: ``state`` (the shops, the lock, the clock), ``gate``
(faults, rate limit, keys), ``reads``, ``lifecycle`` (order changes), ``webhooks`` (the ``/webhooks``
endpoints), ``webhook_delivery`` (signing and sending); ``api`` and ``control`` build the routers.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sandbox.clock import Clock
from sandbox.delivery import Delivery, WebhookDispatcher
from sandbox.woocommerce import orders as build
from sandbox.woocommerce.api import build_api_router
from sandbox.woocommerce.control import build_control_router
from sandbox.woocommerce.gate import ApiCall, ApiGate, WooFaults
from sandbox.woocommerce.lifecycle import OrderLifecycle
from sandbox.woocommerce.reads import OrderReads
from sandbox.woocommerce.state import Shop, WooState
from sandbox.woocommerce.webhook_delivery import WebhookOutbox
from sandbox.woocommerce.webhooks import WebhookAdmin

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8700/woocommerce"
DEMO_SHOP = "demo-shop"


class WooCommerceSimulator:
    """WooCommerce stores in memory; ``api`` and ``control`` are the routers to mount."""

    def __init__(
        self,
        *,
        clock: Clock,
        dispatcher: WebhookDispatcher,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        public_url: str = DEFAULT_PUBLIC_URL,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """``consumer_key``/``consumer_secret``: every shop's keys; ``None`` gives each shop its own
        (``ck_<shop>``/``cs_<shop>``, which OAuth 1.0a signatures need) and lets Basic and query
        keys pass with any non-empty pair. ``public_url`` is where the API is reachable (for
        ``_links`` and ``X-WC-Webhook-Source``). ``wall_clock`` judges OAuth timestamps (clients
        sign with real time, while tests move ``clock``)."""
        self.clock = clock
        self.dispatcher = dispatcher
        self.state = WooState(clock=clock, public_url=public_url)
        self.hooks = WebhookOutbox(state=self.state, dispatcher=dispatcher)
        self._gate = ApiGate(
            clock=clock, consumer_key=consumer_key, consumer_secret=consumer_secret, wall_clock=wall_clock
        )
        # The simulator's operations are its parts' methods (tests and the routers call them here).
        reads = OrderReads(self.state)
        self.get_order = reads.get_order
        self.list_orders = reads.list_orders
        self.all_orders = reads.all_orders
        self.refunds = reads.refunds
        self.notes = reads.notes
        self.fulfilments = reads.fulfilments
        lifecycle = OrderLifecycle(self.state, self.hooks)
        self.create_order = lifecycle.create_order
        self.pay = lifecycle.pay
        self.cancel = lifecycle.cancel
        self.set_status = lifecycle.set_status
        self.edit = lifecycle.edit
        self.refund = lifecycle.refund
        self.trash = lifecycle.trash
        self.delete = lifecycle.delete
        self.restore = lifecycle.restore
        self.add_note = lifecycle.add_note
        webhooks = WebhookAdmin(self.state, self.hooks)
        self.list_webhooks = webhooks.list_webhooks
        self.create_webhook = webhooks.create_webhook
        self.update_webhook = webhooks.update_webhook
        self.delete_webhook = webhooks.delete_webhook
        self.get_webhook = webhooks.get_webhook
        self.register_delivery_address = webhooks.register_delivery_address
        self.set_webhook_secret = webhooks.set_webhook_secret
        self.api = build_api_router(self)
        self.control = build_control_router(self)

    @property
    def faults(self) -> WooFaults:
        """Switchable API misbehaviour (see :class:`~sandbox.woocommerce.gate.WooFaults`)."""
        return self._gate.faults

    @property
    def outbox(self) -> list[tuple[str, Delivery]]:
        """Every delivery as ``(shop, delivery)``, pings included."""
        return self.hooks.outbox

    def shop(self, name: str) -> Shop:
        """The shop called ``name``, created empty on first use (the live state: hold no reference)."""
        return self.state.shop(name)

    def reset(self) -> None:
        with self.state.lock:
            self.state.clear()
            self._gate.faults.reset()
            self._gate.oauth.clear()
            self.hooks.clear()

    def seed_orders(self, shop: str, count: int, *, spacing_seconds: float = 1.0) -> int:
        """``count`` processing orders of one product at once, for benchmarks: the last one made now,
        each earlier one ``spacing_seconds`` before the next (distinct ``date_modified`` values). No
        webhooks, no copies. Returns how many orders the shop holds."""
        with self.state.lock:
            the_shop = self.state.shop(shop)
            now = self.state.now()
            for index in range(count):
                sku = "IPOD2008GREEN"
                line = build.line_item(the_shop.item_id(), the_shop.product_id(sku), sku, "iPod", 1, 149.0)
                order = build.new_order(
                    order_id=the_shop.post_id(),
                    status="processing",
                    billing=build.address(None, with_contact=True),
                    shipping=build.address(None, with_contact=False),
                    lines=[line],
                    shipping_line_id=the_shop.item_id(),
                    customer_note="",
                    now=now - timedelta(seconds=spacing_seconds * (count - 1 - index)),
                    utc_offset=the_shop.utc_offset,
                    api_base=self.state.api_base(shop),
                )
                the_shop.add_order(order)
            held = len(the_shop.orders)
        gc.freeze()  # the orders live as long as the store: the collector need not walk them again
        return held

    def seed_demo(self) -> None:
        """Shop "demo-shop": three paid orders with the SKUs the Picqer sandbox seeds, one pending."""
        lines = [
            [{"sku": "TSHIRT-RED-M", "name": "T-shirt red M", "quantity": 2, "price": 19.95}],
            [
                {"sku": "MUG-LOGO", "name": "Mug with logo", "quantity": 1, "price": 9.5},
                {"sku": "IPOD2008GREEN", "name": "iPod 2008 green", "quantity": 1, "price": 149.0},
            ],
            [
                {"sku": "TSHIRT-RED-M", "name": "T-shirt red M", "quantity": 1, "price": 19.95},
                {"sku": "MUG-LOGO", "name": "Mug with logo", "quantity": 2, "price": 9.5},
            ],
        ]
        for items in lines:
            self.create_order(DEMO_SHOP, status="processing", line_items=items)
        self.create_order(
            DEMO_SHOP,
            status="pending",
            line_items=[{"sku": "MUG-LOGO", "name": "Mug with logo", "quantity": 1, "price": 9.5}],
            customer_note="Pay by bank transfer",
        )

    def gate(self, call: ApiCall) -> None:
        """Raise the ``WooError`` a request should get before it reaches its route, if any."""
        self._gate.check(call)

    def keys(self, shop: str) -> dict[str, str]:
        """The shop's REST API key: ``consumer_key`` and ``consumer_secret`` (the shop is created
        on first use, like every other control call)."""
        self.state.shop(shop)
        key, secret = self._gate.keys(shop)
        return {"consumer_key": key, "consumer_secret": secret}

    def credentials(self) -> dict[str, dict[str, str]]:
        """Every shop's key, by shop name (for ``GET /_sandbox/credentials``)."""
        return {name: self.keys(name) for name in self.state.names()}

    def delivery_log(self, shop: str | None = None) -> list[dict[str, Any]]:
        return self.hooks.log(shop)
