"""A store's order webhooks: subscriptions, and the signed deliveries an order change sends to them.

Computed independently of the adapter (the sandbox imports no adapter), so the two cannot share a
mistake in the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime

from sandbox.delivery import Delivery
from sandbox.shopify.errors import StoreError
from sandbox.shopify.state import OrderRecord, ShopState, Subscription, new_id, render_time

ORDER_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "orders/edited",
    "orders/delete",
)
# what a control-registered webhook address receives by default
DEFAULT_TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled")


def sign(raw: bytes, secret: str) -> str:
    """``X-Shopify-Hmac-Sha256``: base64 of HMAC-SHA256 over the exact body bytes."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).digest()).decode("ascii")


def signing_secret(state: ShopState, subscription: Subscription) -> str:
    """The client secret for the Dev Dashboard app's subscriptions; the store's webhook secret for
    the legacy app's and those made in the admin (the control API)."""
    return state.client_secret if subscription.signed_by == "app" else state.webhook_secret


def check_subscription(topic: str, address: str) -> None:
    """422 for a topic or address Shopify refuses whatever the store (checked before it is looked up)."""
    if topic not in ORDER_TOPICS:
        raise StoreError(422, {"topic": ["Invalid topic specified."]})
    if not address.startswith(("http://", "https://")):
        raise StoreError(422, {"address": ["is invalid"]})


def subscribe(
    state: ShopState, topic: str, address: str, *, api_version: str, now: datetime, signed_by: str = "shop"
) -> Subscription:
    """A subscription to a checked topic and address; 422 when this topic already goes to this address."""
    if any(sub.topic == topic and sub.address == address for sub in state.subscriptions):
        raise StoreError(422, {"address": ["for this topic has already been taken"]})
    subscription = Subscription(
        id=new_id(),
        topic=topic,
        address=address,
        api_version=api_version,
        created_at=render_time(now),
        signed_by=signed_by,
    )
    state.subscriptions.append(subscription)
    return subscription


def unsubscribe(state: ShopState, subscription_id: int) -> None:
    kept = [sub for sub in state.subscriptions if sub.id != subscription_id]
    if len(kept) == len(state.subscriptions):
        raise StoreError(404, "Not Found")
    state.subscriptions = kept


def deliveries(state: ShopState, record: OrderRecord, topics: list[str], now: datetime) -> list[Delivery]:
    """One signed delivery per subscription to each topic, carrying the order as it is now."""
    body = json.dumps(record.data).encode("utf-8")
    triggered_at = now.isoformat().replace("+00:00", "Z")
    made = []
    for topic in topics:
        event_id = str(uuid.uuid4())  # one event per topic; one delivery (webhook id) per subscription
        for subscription in state.subscriptions:
            if subscription.topic != topic:
                continue
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": sign(body, signing_secret(state, subscription)),
                "X-Shopify-Shop-Domain": state.domain,
                "X-Shopify-API-Version": subscription.api_version,
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Event-Id": event_id,
                "X-Shopify-Triggered-At": triggered_at,
            }
            made.append(Delivery(url=subscription.address, headers=headers, body=body, topic=topic))
    return made
