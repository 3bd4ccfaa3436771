"""Webhook deliveries as Woo's Hookshot sends them: signed like ``WC_Webhook``, failures counted.

Deliveries are built while the simulator's lock is held (so they carry the state of that moment)
and sent after it is released, so a receiver may call back into the API while handling one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from typing import Any

from sandbox.delivery import Delivery, WebhookDispatcher
from sandbox.woocommerce.state import MAX_DELIVERY_FAILURES, Shop, Webhook, WooState

USER_AGENT = "WooCommerce/9.1.0 Hookshot (WordPress/6.6.0)"
Pending = list[tuple[Webhook | None, Delivery]]  # (the webhook, or None for a ping; its delivery)


def wp_json(payload: Any) -> bytes:
    """JSON as PHP's ``wp_json_encode`` writes it: compact, ``\\/`` for slashes, ``\\uXXXX`` escapes."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")


def woo_signature(raw: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode("ascii")


class WebhookOutbox:
    """Builds, records and sends one simulator's deliveries; ``outbox`` keeps every one, pings included."""

    def __init__(self, *, state: WooState, dispatcher: WebhookDispatcher) -> None:
        """Holds ``state``'s lock while it records: webhooks' failure counts live in that state."""
        self.clock = state.clock
        self.dispatcher = dispatcher
        self.public_url = state.public_url
        self._lock = state.lock
        self.outbox: list[tuple[str, Delivery]] = []  # (shop, delivery), pings included
        self._delivery_counter = itertools.count(1)

    def clear(self) -> None:
        with self._lock:
            self.outbox.clear()

    def ping(self, shop: str, hook: Webhook) -> Pending:
        """The ``webhook_id=N`` ping Woo sends to a new active webhook (lock held)."""
        ping = Delivery(
            url=hook.delivery_url,
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"},
            body=f"webhook_id={hook.id}".encode(),
            topic="ping",
        )
        self.outbox.append((shop, ping))
        return [(None, ping)]  # a failed ping does not count towards disabling

    def for_topic(self, shop: Shop, topic: str, payload: dict[str, Any]) -> Pending:
        """Signed deliveries of ``payload`` to every active webhook on ``topic`` (lock held)."""
        resource, _, event = topic.partition(".")
        body = wp_json(payload)
        pending: Pending = []
        for hook in shop.webhooks.values():
            if hook.topic != topic or hook.status != "active":
                continue
            delivery_id = hashlib.sha256(
                f"{hook.id}{self.clock.now().timestamp()}{next(self._delivery_counter)}".encode()
            ).hexdigest()[:32]
            delivery = Delivery(
                url=hook.delivery_url,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    "X-WC-Webhook-Source": f"{self.public_url}/{shop.name}/",
                    "X-WC-Webhook-Topic": topic,
                    "X-WC-Webhook-Resource": resource,
                    "X-WC-Webhook-Event": event,
                    "X-WC-Webhook-Signature": woo_signature(body, hook.secret),
                    "X-WC-Webhook-ID": str(hook.id),
                    "X-WC-Webhook-Delivery-ID": delivery_id,
                },
                body=body,
                topic=topic,
            )
            self.outbox.append((shop.name, delivery))
            pending.append((hook, delivery))
        return pending

    def send(self, pending: Pending) -> None:
        """Deliver outside the lock; count failures like ``WC_Webhook::failed_delivery``."""
        for hook, delivery in pending:
            self.dispatcher.dispatch(delivery)
            if hook is None or delivery.dropped or delivery.attempts == 0:
                continue  # a ping, or held back / dropped by a delivery fault: not an answer
            with self._lock:
                if delivery.status is not None and 200 <= delivery.status < 303:
                    hook.failure_count = 0
                else:
                    hook.failure_count += 1
                    if hook.failure_count > MAX_DELIVERY_FAILURES:
                        hook.status = "disabled"

    def log(self, shop: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"shop": name, **item.as_json()} for name, item in self.outbox if shop is None or name == shop
            ]
