"""Make sure the store sends our order webhooks to ``address`` (for ``hooks sync``); idempotent.

GraphQL: ``webhookSubscriptions`` lists, ``webhookSubscriptionCreate(topic:, webhookSubscription:
{uri:, format: JSON})`` adds (``uri`` replaced ``callbackUrl``), ``webhookSubscriptionDelete``
removes. Each subscription is handed back REST-like (``id``, ``topic``, ``address``) as before.
``ADMIN`` is the same calls for ``hooks sync``'s reconciliation; a move is a create at the new
address, then a delete of the old one (no gap in deliveries; Shopify never disables one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from adapters.coerce import as_list, as_mapping
from adapters.errors import ApiRejected
from adapters.shopify.fulfilment import user_errors_text
from adapters.shopify.graphql import (
    WEBHOOK_CREATE,
    WEBHOOK_DELETE,
    WEBHOOKS_QUERY,
    legacy_id,
    topic_enum,
    topic_name,
)
from adapters.shopify.source import ShopifySource
from adapters.subscriptions import Subscription, WebhookAdmin

ORDER_TOPICS: Final = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled")
PAGE: Final = 100


def _subscription(node: Any) -> dict[str, Any]:
    node = as_mapping(node)
    return {
        "id": legacy_id(node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "topic": topic_name(str(node.get("topic") or "")),
        "address": node.get("uri"),
        "format": str(node.get("format") or "JSON").lower(),
        "created_at": node.get("createdAt"),
    }


def list_webhooks(source: ShopifySource) -> list[dict[str, Any]]:
    """Every webhook subscription of the app on this store."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        data = source.graphql(WEBHOOKS_QUERY, {"first": PAGE, "after": after}, operation="webhooks")
        connection = as_mapping(data.get("webhookSubscriptions"))
        found.extend(_subscription(node) for node in as_list(connection.get("nodes")))
        info = as_mapping(connection.get("pageInfo"))
        cursor = info.get("endCursor")
        if not info.get("hasNextPage") or not isinstance(cursor, str) or cursor == after:
            return found
        after = cursor


def ensure_webhooks(
    source: ShopifySource, address: str, secret: str = "", *, topics: Iterable[str] = ORDER_TOPICS
) -> list[dict[str, Any]]:
    """The subscriptions for ``address``, creating the missing ones; existing ones are left alone.

    ``secret`` is not used: Shopify signs every webhook with the app's own secret (a Dev Dashboard
    app's client secret), so there is none to hand over (the parameter keeps the other platforms'
    signature).
    """
    ours = [hook for hook in list_webhooks(source) if hook["address"] == address]
    have = {hook["topic"] for hook in ours}
    for topic in topics:
        if topic in have:
            continue
        ours.append(create_webhook(source, topic, address))
        have.add(topic)
    return ours


def create_webhook(source: ShopifySource, topic: str, address: str) -> dict[str, Any]:
    """A new subscription of ``topic`` to ``address``."""
    data = source.graphql(
        WEBHOOK_CREATE,
        {"topic": topic_enum(topic), "uri": address},
        operation="webhook_create",
        idempotent=False,
    )
    result = as_mapping(data.get("webhookSubscriptionCreate"))
    errors = as_list(result.get("userErrors"))
    if errors:
        raise ApiRejected(
            f"shopify refused the {topic} webhook",
            service=source.platform,
            status=200,
            error_message=user_errors_text(errors),
        )
    return _subscription(result.get("webhookSubscription"))


def delete_webhook(source: ShopifySource, subscription_id: int | str) -> None:
    """Remove one subscription (by its number or gid); one that is gone already is fine."""
    gid = str(subscription_id)
    if not gid.startswith("gid://"):
        gid = f"gid://shopify/WebhookSubscription/{gid}"
    data = source.graphql(WEBHOOK_DELETE, {"id": gid}, operation="webhook_delete")
    errors = as_list(as_mapping(data.get("webhookSubscriptionDelete")).get("userErrors"))
    if errors and "not exist" not in user_errors_text(errors).lower():
        raise ApiRejected(
            "shopify refused to delete a webhook",
            service=source.platform,
            status=200,
            error_message=user_errors_text(errors),
        )


def _as_subscription(hook: dict[str, Any]) -> Subscription:
    return Subscription(id=str(hook["id"]), topic=str(hook["topic"]), address=str(hook["address"] or ""))


def _admin_create(source: ShopifySource, topic: str, address: str, secret: str) -> Subscription:
    return _as_subscription(create_webhook(source, topic, address))


def _admin_move(source: ShopifySource, hook: Subscription, address: str, secret: str) -> Subscription:
    moved = _admin_create(source, hook.topic, address, secret)
    delete_webhook(source, hook.id)
    return moved


ADMIN: Final = WebhookAdmin(
    list=lambda source: [_as_subscription(hook) for hook in list_webhooks(source)],
    create=_admin_create,
    move=_admin_move,
    remove=lambda source, hook: delete_webhook(source, hook.id),
)
