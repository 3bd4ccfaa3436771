"""A store's webhooks as ``/webhooks`` manages them: create (with a ping), update, delete, rotate secrets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.woocommerce.errors import WooError, invalid_param
from sandbox.woocommerce.state import (
    DEFAULT_WEBHOOK_SECRET,
    ORDER_TOPICS,
    WEBHOOK_EVENTS,
    WEBHOOK_RESOURCES,
    OrderJSON,
    Shop,
    Webhook,
    WooState,
)
from sandbox.woocommerce.webhook_delivery import WebhookOutbox

WEBHOOK_STATUSES = ("active", "paused", "disabled")


def _check_status(status: object) -> None:
    if status not in WEBHOOK_STATUSES:
        raise invalid_param("status", f"status is not one of {', '.join(WEBHOOK_STATUSES)}.")


class WebhookAdmin:
    """The ``/webhooks`` endpoints' rules; an active new webhook is pinged after the lock is released."""

    def __init__(self, state: WooState, hooks: WebhookOutbox) -> None:
        self.state = state
        self.hooks = hooks

    def list_webhooks(self, shop: str, *, with_secret: bool = False) -> list[OrderJSON]:
        with self.state.lock:
            the_shop = self.state.shop(shop)
            return [
                hook.as_json(the_shop.utc_offset, with_secret=with_secret)
                for hook in the_shop.webhooks.values()
            ]

    def create_webhook(
        self,
        shop: str,
        *,
        topic: str,
        delivery_url: str,
        secret: str | None = None,
        name: str | None = None,
        status: str = "active",
    ) -> OrderJSON:
        """A webhook as ``POST webhooks`` makes it; an active one is pinged (``webhook_id=N``)."""
        resource, _, event = topic.partition(".")
        if resource not in WEBHOOK_RESOURCES or event not in WEBHOOK_EVENTS:
            raise invalid_param("topic", "Webhook topic unknown.")
        if not delivery_url.startswith(("http://", "https://")):
            raise invalid_param("delivery_url", "delivery_url is not a valid URL.")
        _check_status(status)
        with self.state.lock:
            the_shop = self.state.shop(shop)
            hook = Webhook(
                id=the_shop.next_webhook_id,
                name=name or f"Webhook {topic}",
                topic=topic,
                delivery_url=delivery_url,
                secret=secret or the_shop.webhook_secret,
                status=status,
                created=self.state.now(),
            )
            the_shop.next_webhook_id += 1
            the_shop.webhooks[hook.id] = hook
            pending = self.hooks.ping(shop, hook) if status == "active" else []
            result = hook.as_json(the_shop.utc_offset)
        self.hooks.send(pending)
        return result

    def update_webhook(self, shop: str, hook_id: int, fields: Mapping[str, Any]) -> OrderJSON:
        with self.state.lock:
            the_shop = self.state.shop(shop)
            hook = self._webhook(the_shop, hook_id)
            status = fields.get("status")
            if status is not None:
                _check_status(status)
                hook.status = str(status)
                if status == "active":
                    hook.failure_count = 0
            for name in ("secret", "delivery_url", "name"):
                if fields.get(name):
                    setattr(hook, name, str(fields[name]))
            return hook.as_json(the_shop.utc_offset)

    def delete_webhook(self, shop: str, hook_id: int) -> OrderJSON:
        with self.state.lock:
            the_shop = self.state.shop(shop)
            hook = self._webhook(the_shop, hook_id)
            del the_shop.webhooks[hook_id]
            return hook.as_json(the_shop.utc_offset)

    def get_webhook(self, shop: str, hook_id: int) -> OrderJSON:
        with self.state.lock:
            the_shop = self.state.shop(shop)
            return self._webhook(the_shop, hook_id).as_json(the_shop.utc_offset)

    @staticmethod
    def _webhook(shop: Shop, hook_id: int) -> Webhook:
        try:
            return shop.webhooks[hook_id]
        except KeyError:
            raise WooError(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.") from None

    def register_delivery_address(
        self, shop: str, delivery_url: str, *, topics: Sequence[str] = ORDER_TOPICS, secret: str | None = None
    ) -> list[OrderJSON]:
        """One active webhook per topic to ``delivery_url`` (each pinged, as Woo does)."""
        return [
            self.create_webhook(shop, topic=topic, delivery_url=delivery_url, secret=secret)
            for topic in topics
        ]

    def set_webhook_secret(self, shop: str, secret: str) -> None:
        """The secret of new webhooks and of every existing one (a rotation)."""
        with self.state.lock:
            the_shop = self.state.shop(shop)
            the_shop.webhook_secret = secret or DEFAULT_WEBHOOK_SECRET
            for hook in the_shop.webhooks.values():
                hook.secret = the_shop.webhook_secret
