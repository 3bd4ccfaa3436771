"""Magento has no order webhooks to subscribe to (see ``webhooks.py``): ``hooks sync`` skips it."""

from __future__ import annotations

from typing import Final

from adapters.platform import EnsureWebhooks
from adapters.subscriptions import WebhookAdmin

ORDER_TOPICS: Final[tuple[str, ...]] = ()
ensure_webhooks: Final[EnsureWebhooks | None] = None
ADMIN: Final[WebhookAdmin | None] = None
