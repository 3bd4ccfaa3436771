"""The Shopify simulator (Admin REST API, signed order webhooks, leaky bucket)."""

from __future__ import annotations

from sandbox.shopify.simulator import DEMO_SHOP, ShopifySimulator
from sandbox.shopify.state import DEFAULT_WEBHOOK_SECRET

__all__ = ["DEFAULT_WEBHOOK_SECRET", "DEMO_SHOP", "ShopifySimulator"]
