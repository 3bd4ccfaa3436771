"""Make sure the store sends our receiver every order topic (``GET/POST/PUT webhooks``).

Woo disables a webhook after more than five failed deliveries in a row and never retries one, so
``hooks sync`` calls this to recreate missing subscriptions and reactivate disabled or paused ones.
Woo never shows a webhook's secret again after creation, so an existing active webhook is trusted;
a reactivated one gets the current secret.
"""

from __future__ import annotations

from typing import Any

from adapters.woocommerce.source import MAX_PAGE_SIZE, WooCommerceSource

ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
ACTIVE = "active"


def ensure_webhooks(
    source: WooCommerceSource, address: str, secret: str, *, topics: tuple[str, ...] = ORDER_TOPICS
) -> list[dict[str, Any]]:
    """One active webhook per topic pointing at ``address``; returns them. Idempotent."""
    existing = source.send("GET", "webhooks", params={"per_page": MAX_PAGE_SIZE}).json()
    hooks = [hook for hook in existing if isinstance(hook, dict)] if isinstance(existing, list) else []
    result: list[dict[str, Any]] = []
    for topic in topics:
        hook = next(
            (item for item in hooks if item.get("topic") == topic and item.get("delivery_url") == address),
            None,
        )
        if hook is None:
            body = {
                "name": f"picqer-sync {topic}",
                "topic": topic,
                "delivery_url": address,
                "secret": secret,
                "status": ACTIVE,
            }
            # a duplicate webhook only doubles deliveries, which the receiver dedups: retrying is fine
            hook = source.send("POST", "webhooks", json=body).json()
        elif hook.get("status") != ACTIVE:
            hook = source.send(
                "PUT", f"webhooks/{int(hook['id'])}", json={"status": ACTIVE, "secret": secret}
            ).json()
        result.append(hook)
    return result
