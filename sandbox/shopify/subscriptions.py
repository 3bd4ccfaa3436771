"""Which topics a control-registered webhook address receives by default."""

from __future__ import annotations

DEFAULT_TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled")
