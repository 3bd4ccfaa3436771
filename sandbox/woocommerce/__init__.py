"""The WooCommerce REST v3 simulator (``WooCommerceSimulator``)."""

from __future__ import annotations

from sandbox.woocommerce.simulator import WooCommerceSimulator

__all__ = ["WooCommerceSimulator"]
