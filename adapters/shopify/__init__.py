"""Shopify: GraphQL Admin API source (client credentials or a legacy token), order mapper, webhook
verification, fulfilment push-back."""

from __future__ import annotations

from adapters.platform import ShopPlatform
from adapters.shopify.fulfilment import report_fulfilment
from adapters.shopify.mapper import map_order
from adapters.shopify.source import ShopifySource
from adapters.shopify.subscriptions import ORDER_TOPICS, ensure_webhooks
from adapters.shopify.webhooks import needs_full_order, sign, verify_webhook
from adapters.types import SHOPIFY

PLATFORM = ShopPlatform(
    name=SHOPIFY,
    source_class=ShopifySource,
    map_order=map_order,
    verify_webhook=verify_webhook,
    report_fulfilment=report_fulfilment,
    webhook_topics=ORDER_TOPICS,
    needs_full_order=needs_full_order,
    ensure_webhooks=ensure_webhooks,
)

__all__ = [
    "ORDER_TOPICS",
    "PLATFORM",
    "ShopifySource",
    "ensure_webhooks",
    "map_order",
    "report_fulfilment",
    "sign",
    "verify_webhook",
]
