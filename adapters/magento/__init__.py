"""Magento 2 / Adobe Commerce: REST polling by ``updated_at`` (no native webhooks), mapping, shipments."""

from __future__ import annotations

from adapters.magento.fulfilment import report_fulfilment
from adapters.magento.mapper import map_order
from adapters.magento.source import MagentoSource
from adapters.platform import ShopPlatform

PLATFORM = ShopPlatform(
    name="magento",
    source_class=MagentoSource,
    map_order=map_order,
    verify_webhook=None,  # Magento Open Source sends no order webhooks: the scheduler's poll is the feed
    report_fulfilment=report_fulfilment,
)

__all__ = ["PLATFORM", "MagentoSource", "map_order", "report_fulfilment"]
