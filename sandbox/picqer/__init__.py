"""A faithful in-memory Picqer: the Orders API, products, stock, picklists, shipments, hooks."""

from __future__ import annotations

from sandbox.picqer.simulator import PicqerSimulator

__all__ = ["PicqerSimulator"]
