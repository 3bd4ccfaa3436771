"""The Shopify simulator (client credentials grant, Admin REST and GraphQL APIs, signed order webhooks,
leaky bucket and query-cost bucket)."""

from __future__ import annotations

from sandbox.shopify.simulator import DEMO_SHOP, ShopifySimulator
from sandbox.shopify.state import DEFAULT_WEBHOOK_SECRET

__all__ = ["DEFAULT_WEBHOOK_SECRET", "DEMO_SHOP", "ShopifySimulator"]
