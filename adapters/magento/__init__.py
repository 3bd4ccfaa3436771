"""Magento 2 / Adobe Commerce: REST polling by ``updated_at`` (no native webhooks), mapping, shipments."""

from __future__ import annotations

from adapters.magento.fulfilment import report_fulfilment
from adapters.magento.mapper import map_order
from adapters.magento.source import MagentoSource
from adapters.magento.subscriptions import ORDER_TOPICS, ensure_webhooks
from adapters.magento.webhooks import needs_full_order, verify_webhook
from adapters.platform import ShopPlatform
from adapters.types import MAGENTO

PLATFORM = ShopPlatform(
    name=MAGENTO,
    source_class=MagentoSource,
    map_order=map_order,
    verify_webhook=verify_webhook,  # None: the scheduler's poll is the feed
    report_fulfilment=report_fulfilment,
    webhook_topics=ORDER_TOPICS,
    needs_full_order=needs_full_order,
    ensure_webhooks=ensure_webhooks,
)

__all__ = ["PLATFORM", "MagentoSource", "map_order", "report_fulfilment"]
