"""A Magento 2 REST simulator: searchCriteria listing, the ship endpoint, faults (see simulator.py)."""

from __future__ import annotations

from sandbox.magento.simulator import MagentoSimulator

__all__ = ["MagentoSimulator"]
