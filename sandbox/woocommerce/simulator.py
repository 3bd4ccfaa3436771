"""A WooCommerce store (REST v3) with signed webhooks, for tests and the demo.

``WooCommerceSimulator(clock=..., dispatcher=...)`` keeps any number of shops (created on first
use) addressed as ``/woocommerce/{shop}/wp-json/wc/v3/...``. Every change bumps the order's
``date_modified`` and sends the webhooks Woo would send, signed like ``WC_Webhook`` signs them,
through the shared :class:`~sandbox.delivery.WebhookDispatcher`. Deliveries go out after the state
lock is released, so a receiver may call back into the API while handling one.

The class is assembled from parts, one job each: ``store`` (the shops, the lock, the clock),
``reads``, ``lifecycle`` (order changes), ``webhooks`` (the ``/webhooks`` endpoints),
``webhook_delivery`` (signing and sending), ``gate`` (faults and authentication) and ``listing``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.clock import Clock
from sandbox.delivery import Delivery, WebhookDispatcher
from sandbox.woocommerce.gate import ApiGate
from sandbox.woocommerce.lifecycle import OrderLifecycle
from sandbox.woocommerce.reads import OrderReads
from sandbox.woocommerce.routes import build_api_router, build_control_router
from sandbox.woocommerce.state import ApiFaults
from sandbox.woocommerce.webhooks import WebhookAdmin

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8700/woocommerce"
DEMO_SHOP = "demo-shop"


class WooCommerceSimulator(OrderLifecycle, OrderReads, WebhookAdmin):
    """WooCommerce stores in memory; ``api`` and ``control`` are the routers to mount."""

    def __init__(
        self,
        *,
        clock: Clock,
        dispatcher: WebhookDispatcher,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        public_url: str = DEFAULT_PUBLIC_URL,
    ) -> None:
        """``consumer_key``/``consumer_secret``: the only accepted keys; ``None`` accepts any
        non-empty pair. ``public_url`` is where the API is reachable (for ``_links`` and
        ``X-WC-Webhook-Source``)."""
        super().__init__(clock=clock, dispatcher=dispatcher, public_url=public_url)
        self._gate = ApiGate(clock=clock, consumer_key=consumer_key, consumer_secret=consumer_secret)
        self.api = build_api_router(self)
        self.control = build_control_router(self)

    @property
    def faults(self) -> ApiFaults:
        """Switchable API misbehaviour (see :class:`~sandbox.woocommerce.state.ApiFaults`)."""
        return self._gate.faults

    @property
    def outbox(self) -> list[tuple[str, Delivery]]:
        """Every delivery as ``(shop, delivery)``, pings included."""
        return self.hooks.outbox

    def reset(self) -> None:
        with self._lock:
            self._shops.clear()
            self._gate.reset()
            self.hooks.clear()

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

    def gate(self, method: str, path: str, headers: Mapping[str, str], query: Mapping[str, str]) -> None:
        """Raise the ``WooError`` a request should get before it reaches its route, if any."""
        self._gate.check(method, path, headers, query)

    def delivery_log(self, shop: str | None = None) -> list[dict[str, Any]]:
        return self.hooks.log(shop)
