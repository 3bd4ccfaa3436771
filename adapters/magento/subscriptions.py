"""Magento has no order webhooks to subscribe to (see ``webhooks.py``): ``hooks sync`` skips it."""

from __future__ import annotations

from typing import Final

from adapters.platform import EnsureWebhooks

ORDER_TOPICS: Final[tuple[str, ...]] = ()
ensure_webhooks: Final[EnsureWebhooks | None] = None
