"""What the actors call: one method per actor, ids in, nothing out.

The real implementation (:class:`worker.queue.sync_handlers.SyncHandlers`) loads rows and calls
the use cases in ``worker/sync``; tests pass their own, so the queue mechanics (retries, 429s,
dead letters) are tested without Picqer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class Handlers(Protocol):
    def process_shop_event(self, inbox_id: int) -> None:
        """Apply a stored shop webhook (map the order, push it)."""

    def process_picqer_event(self, inbox_id: int) -> None:
        """Apply a stored Picqer hook event to the mirror (and report fulfilment when completed)."""

    def push_shop_order(self, source: str, shop_order_id: str) -> None:
        """Fetch one shop order as it is now, map it and push it."""

    def report_fulfilment(self, order_row_id: int) -> None:
        """Tell the shop that a completed order shipped, with its tracking."""

    def poll_source(self, source: str) -> None:
        """Pull the orders changed since the source's cursor (overlapping window) and push them."""

    def reconcile(self, since: datetime | None) -> None:
        """Pull Picqer's state of open and recently changed orders into the mirror."""

    def record_dead_letter(
        self, actor_name: str, args: list[Any], kwargs: dict[str, Any], reason: str
    ) -> None:
        """A message failed for good: record the order (or event) as failed with ``reason``."""
