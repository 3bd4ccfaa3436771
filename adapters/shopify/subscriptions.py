"""Make sure the store sends our order webhooks to ``address`` (for ``hooks sync``); idempotent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.shopify.source import ShopifySource

ORDER_TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled")


def ensure_webhooks(
    source: ShopifySource, address: str, secret: str = "", *, topics: Iterable[str] = ORDER_TOPICS
) -> list[dict[str, Any]]:
    """The subscriptions for ``address``, creating the missing ones; existing ones are left alone.

    ``secret`` is not used: Shopify signs every webhook with the app's own secret, so there is
    none to hand over (the parameter keeps the signature of the other platforms').
    """
    existing = source.send("GET", "webhooks.json", params={"limit": 250}).json().get("webhooks") or []
    ours = [hook for hook in existing if hook.get("address") == address]
    have = {hook.get("topic") for hook in ours}
    for topic in topics:
        if topic in have:
            continue
        payload = {"webhook": {"topic": topic, "address": address, "format": "json"}}
        created = source.send("POST", "webhooks.json", json=payload).json().get("webhook")
        if isinstance(created, dict):
            ours.append(created)
            have.add(topic)
    return ours
