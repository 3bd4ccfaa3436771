"""WooCommerce webhooks: verify ``X-WC-Webhook-Signature`` over the raw body, then parse.

The signature is base64(HMAC-SHA256(secret, raw body)) (``WC_Webhook::generate_signature``). It
must be checked on the bytes as received: Woo's JSON escapes slashes and non-ASCII characters, so
any re-serialisation changes the bytes. When a webhook is created Woo POSTs the form body
``webhook_id=N`` without any signature header and wants exactly 200 back: that is a ping.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any

from adapters.errors import WebhookRejected
from adapters.jsonbody import load_json_body
from adapters.platform import NeedsFullOrder, ShopWebhook
from adapters.settings import ShopConnection
from adapters.types import WOOCOMMERCE
from adapters.webhooks import accepted_secrets, sign
from adapters.woocommerce.source import needs_refund_lines

SIGNATURE_HEADER = "x-wc-webhook-signature"
TOPIC_HEADER = "x-wc-webhook-topic"
RESOURCE_HEADER = "x-wc-webhook-resource"
EVENT_HEADER = "x-wc-webhook-event"
DELIVERY_HEADER = "x-wc-webhook-delivery-id"
PING_BODY = re.compile(rb"^webhook_id=(\d+)$")
DELETED_TOPIC = "order.deleted"
# a webhook's order lists its refunds only as totals: the mapper needs their lines from the shop
needs_full_order: NeedsFullOrder | None = needs_refund_lines


def order_version_key(order: Mapping[str, Any]) -> str:
    """One version of one order (id + modification time): dedups the same state from any path."""
    return f"{WOOCOMMERCE}:order:{order.get('id')}:{order.get('date_modified_gmt') or ''}"


def verify_webhook(raw: bytes, headers: Mapping[str, str], settings: ShopConnection) -> ShopWebhook:
    """A verified webhook; ``WebhookRejected`` (401 bad or missing signature, 400 bad body)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    signature = lowered.get(SIGNATURE_HEADER)
    ping = PING_BODY.match(raw.strip())
    if signature is None and ping is not None:
        # unsigned by design; it carries no order, so accepting it can change nothing
        return ShopWebhook(
            topic="ping", event_key=f"{WOOCOMMERCE}:ping:{ping.group(1).decode()}", is_ping=True
        )
    if not signature:
        raise WebhookRejected("missing X-WC-Webhook-Signature", status=401)
    if not _signature_matches(raw, signature, settings):
        raise WebhookRejected("X-WC-Webhook-Signature does not match the webhook secret", status=401)
    return _parse(raw, lowered)


def _signature_matches(raw: bytes, signature: str, settings: ShopConnection) -> bool:
    secrets = accepted_secrets(settings)
    given = signature.strip().encode("ascii", errors="replace")
    matched = False
    for secret in secrets:  # check every secret, so timing does not tell which one matched
        matched |= hmac.compare_digest(sign(raw, secret).encode("ascii"), given)
    return matched


def _parse(raw: bytes, headers: Mapping[str, str]) -> ShopWebhook:
    body = load_json_body(raw)
    if not isinstance(body, dict):
        raise WebhookRejected("the webhook body is not a JSON object", status=400)
    topic = headers.get(TOPIC_HEADER) or _topic_from_parts(headers)
    order_id = body.get("id")
    if isinstance(order_id, str) and order_id.strip().isdigit():
        order_id = int(order_id.strip())  # Woo sends integers; a numeric string names the same order
    if not isinstance(order_id, int) or isinstance(order_id, bool):
        raise WebhookRejected("the webhook body has no numeric id", status=400)
    delivery_id = headers.get(DELIVERY_HEADER)
    if topic == DELETED_TOPIC:
        # Woo sends only {"id": N} for deleted (trashed) orders
        key = f"{WOOCOMMERCE}:delivery:{delivery_id}" if delivery_id else f"{WOOCOMMERCE}:deleted:{order_id}"
        return ShopWebhook(topic=topic, event_key=key, shop_order_id=str(order_id), deleted=True)
    key = f"{WOOCOMMERCE}:delivery:{delivery_id}" if delivery_id else order_version_key(body)
    is_order = topic.startswith("order.")
    return ShopWebhook(
        topic=topic,
        event_key=key,
        shop_order_id=str(order_id) if is_order else None,
        order=body if is_order else None,
        order_json=raw.decode("utf-8") if is_order else None,  # valid UTF-8: it parsed
    )


def _topic_from_parts(headers: Mapping[str, str]) -> str:
    resource, event = headers.get(RESOURCE_HEADER), headers.get(EVENT_HEADER)
    if not resource or not event:
        raise WebhookRejected("missing X-WC-Webhook-Topic", status=400)
    return f"{resource}.{event}"


__all__ = ["needs_full_order", "order_version_key", "sign", "verify_webhook"]
