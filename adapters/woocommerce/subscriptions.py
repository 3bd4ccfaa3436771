"""Make sure the store sends our receiver every order topic (``GET/POST/PUT webhooks``).

Woo disables a webhook after more than five failed deliveries in a row and never retries one, so
``hooks sync`` calls this to recreate missing subscriptions and reactivate disabled or paused ones.
Woo never shows a webhook's secret again after creation, so an existing active webhook is trusted;
a reactivated one gets the current secret. ``ADMIN`` is the same calls for ``hooks sync``'s
reconciliation: a move is ``PUT webhooks/{id}`` with the new ``delivery_url`` (and the secret).
"""

from __future__ import annotations

from typing import Any, Final

from adapters.subscriptions import Subscription, WebhookAdmin
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


def list_webhooks(source: WooCommerceSource) -> list[dict[str, Any]]:
    """Every webhook of the store, over all pages (``X-WP-TotalPages``)."""
    found: list[dict[str, Any]] = []
    page, pages = 1, 1
    while page <= pages:
        response = source.send("GET", "webhooks", params={"per_page": MAX_PAGE_SIZE, "page": page})
        body = response.json()
        if isinstance(body, list):
            found.extend(hook for hook in body if isinstance(hook, dict))
        header = response.headers.get("X-WP-TotalPages", "")
        pages = int(header) if header.isdigit() else page
        page += 1
    return found


def _as_subscription(hook: dict[str, Any]) -> Subscription:
    return Subscription(
        id=str(hook["id"]),
        topic=str(hook.get("topic") or ""),
        address=str(hook.get("delivery_url") or ""),
        active=hook.get("status") == ACTIVE,
        name=str(hook.get("name") or ""),
    )


def _create(source: WooCommerceSource, topic: str, address: str, secret: str) -> Subscription:
    body = {"name": f"picqer-sync {topic}", "topic": topic, "delivery_url": address, "secret": secret}
    return _as_subscription(source.send("POST", "webhooks", json={**body, "status": ACTIVE}).json())


def _update(source: WooCommerceSource, hook: Subscription, fields: dict[str, Any]) -> Subscription:
    return _as_subscription(source.send("PUT", f"webhooks/{int(hook.id)}", json=fields).json())


def _remove(source: WooCommerceSource, hook: Subscription) -> None:
    source.send("DELETE", f"webhooks/{int(hook.id)}", params={"force": "true"})


ADMIN: Final = WebhookAdmin(
    list=lambda source: [_as_subscription(hook) for hook in list_webhooks(source)],
    create=_create,
    move=lambda source, hook, address, secret: _update(
        source, hook, {"delivery_url": address, "secret": secret, "status": ACTIVE}
    ),
    remove=_remove,
    reactivate=lambda source, hook, secret: _update(source, hook, {"status": ACTIVE, "secret": secret}),
)
