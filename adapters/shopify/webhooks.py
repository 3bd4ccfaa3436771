"""Verify and parse Shopify webhooks (``orders/*``), from the exact bytes received.

Shopify signs with ``base64(HMAC-SHA256(app secret, raw body))``: a Dev Dashboard app's client
secret, or the ``webhook_secret`` configured for a legacy app or for webhooks made in the store
admin. Deliveries come with ``X-Shopify-*`` headers, the newer event deliveries with unprefixed
lowercase ``shopify-*`` ones, and proxies may change the case of either: we accept all of them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Any

from adapters.errors import WebhookRejected
from adapters.jsonbody import load_json_body
from adapters.platform import NeedsFullOrder, ShopWebhook
from adapters.settings import ShopConnection
from adapters.webhooks import accepted_secrets, hmac_sha256, sign

ORDER_TOPIC_PREFIX = "orders/"
# an orders/* webhook body is the whole order resource, as the REST API answers it
needs_full_order: NeedsFullOrder | None = None


def shopify_header(headers: Mapping[str, str], name: str) -> str | None:
    """Header ``X-Shopify-<name>`` or ``shopify-<name>``, whatever the case."""
    prefixed, bare = f"x-shopify-{name}".lower(), f"shopify-{name}".lower()
    # the receiver's headers are lowercase already (ASGI): two look-ups, no walk over them all
    found = headers.get(prefixed) or headers.get(bare)
    if found:
        return found
    wanted = {prefixed, bare}
    for key, value in headers.items():
        if key.lower() in wanted and value:
            return value
    return None


def verify_webhook(raw: bytes, headers: Mapping[str, str], settings: ShopConnection) -> ShopWebhook:
    """The verified webhook; ``WebhookRejected`` (401 bad signature, 400 bad body) otherwise."""
    _check_signature(raw, shopify_header(headers, "hmac-sha256"), settings)
    topic = shopify_header(headers, "topic")
    if not topic:
        raise WebhookRejected("shopify webhook without a topic header", status=400)
    body = load_json_body(raw, "shopify webhook body")
    if not isinstance(body, dict):
        raise WebhookRejected("shopify webhook body is not a JSON object", status=400)

    shop_order_id: str | None = None
    order: dict[str, Any] | None = None
    deleted = False
    if topic.startswith(ORDER_TOPIC_PREFIX):
        if body.get("id") is None:
            raise WebhookRejected(f"shopify {topic} webhook without an order id", status=400)
        shop_order_id = str(body["id"])
        deleted = topic == "orders/delete"  # its body is only {"id": ...}
        order = None if deleted else body
    return ShopWebhook(
        topic=topic,
        event_key=_event_key(headers, topic, body),
        shop_order_id=shop_order_id,
        order=order,
        deleted=deleted,
        order_json=raw.decode("utf-8") if order is not None else None,  # valid UTF-8: it parsed
    )


def signing_secrets(settings: ShopConnection) -> list[str]:
    """``webhook_secret`` (and the previous one while it rotates), then the app's client secret."""
    secrets = accepted_secrets(settings)
    client_secret = settings.client_secret.get_secret_value() if settings.client_secret is not None else ""
    if client_secret and client_secret not in secrets:
        secrets.append(client_secret)
    return secrets


def _check_signature(raw: bytes, header: str | None, settings: ShopConnection) -> None:
    secrets = signing_secrets(settings)
    if not secrets:
        raise WebhookRejected(
            f"source {settings.name!r} has no webhook_secret or client_secret to check against", status=401
        )
    if not header:
        raise WebhookRejected("shopify webhook without an X-Shopify-Hmac-Sha256 header", status=401)
    try:
        received = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRejected("shopify webhook signature is not base64", status=401) from None
    # the previous secret stays valid while Shopify switches to the new one (up to an hour)
    matches = [hmac.compare_digest(received, hmac_sha256(raw, secret)) for secret in secrets]
    if not any(matches):
        raise WebhookRejected("shopify webhook signature does not match", status=401)


def _event_key(headers: Mapping[str, str], topic: str, body: dict[str, Any]) -> str:
    # the webhook id is the same on every retry of one delivery, so it is the idempotency key
    for name in ("webhook-id", "event-id"):
        value = shopify_header(headers, name)
        if value:
            return f"{name}:{value}"
    return f"{topic}:{body.get('id')}:{body.get('updated_at')}"


__all__ = [
    "ORDER_TOPIC_PREFIX",
    "needs_full_order",
    "shopify_header",
    "sign",
    "signing_secrets",
    "verify_webhook",
]
