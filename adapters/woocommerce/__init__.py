"""WooCommerce (REST v3): the declared source, the mapper, webhooks and fulfilment push-back."""

from __future__ import annotations

from adapters.platform import ShopPlatform
from adapters.types import WOOCOMMERCE
from adapters.woocommerce.fulfilment import report_fulfilment
from adapters.woocommerce.mapper import map_order
from adapters.woocommerce.source import WooCommerceSource
from adapters.woocommerce.subscriptions import ORDER_TOPICS, ensure_webhooks
from adapters.woocommerce.webhooks import needs_full_order, order_version_key, sign, verify_webhook

PLATFORM = ShopPlatform(
    name=WOOCOMMERCE,
    source_class=WooCommerceSource,
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
    "WooCommerceSource",
    "ensure_webhooks",
    "map_order",
    "order_version_key",
    "report_fulfilment",
    "sign",
    "verify_webhook",
]
