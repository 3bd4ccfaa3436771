"""The shops of one simulator behind one lock, stamped by one clock: what its parts share."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sandbox.clock import Clock
from sandbox.delivery import WebhookDispatcher
from sandbox.woocommerce import orders as build
from sandbox.woocommerce.state import OrderJSON, Shop
from sandbox.woocommerce.webhook_delivery import WebhookOutbox


class ShopStore:
    """Shops created on first use; every change holds ``_lock`` and queues its webhooks in ``hooks``."""

    def __init__(self, *, clock: Clock, dispatcher: WebhookDispatcher, public_url: str) -> None:
        self.clock = clock
        self.dispatcher = dispatcher
        self.public_url = public_url.rstrip("/")
        self._lock = threading.RLock()
        self._shops: dict[str, Shop] = {}
        self.hooks = WebhookOutbox(
            clock=clock, dispatcher=dispatcher, public_url=self.public_url, lock=self._lock
        )

    def shop(self, name: str) -> Shop:
        with self._lock:
            return self._shops.setdefault(name, Shop(name=name))

    def now(self) -> datetime:
        # WordPress keeps times to the second; so do we, which makes same-second ties real
        return self.clock.now().astimezone(UTC).replace(microsecond=0, tzinfo=None)

    def api_base(self, shop: str) -> str:
        return f"{self.public_url}/{shop}/wp-json/wc/v3/"

    def _touch(self, shop: Shop, order: OrderJSON) -> None:
        build.stamp(order, "date_modified", self.now(), shop.utc_offset)
