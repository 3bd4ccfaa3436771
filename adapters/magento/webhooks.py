"""Magento sends no order webhooks: there is nothing to verify or parse.

Magento Open Source has no outgoing webhooks (Adobe Commerce's are a paid extension configured per
store), so the scheduler's poll by ``updated_at`` (see ``source.py``) is this platform's only feed.
The names below exist so the three platform packages read alike; the receiver answers 404 for a
source whose ``verify_webhook`` is None.
"""

from __future__ import annotations

from typing import Final

from adapters.platform import NeedsFullOrder, VerifyWebhook

verify_webhook: Final[VerifyWebhook | None] = None
# a polled order is always read in full from the shop
needs_full_order: Final[NeedsFullOrder | None] = None
