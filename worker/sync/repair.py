"""The scheduled repair from Picqer: reconcile the mirror, then finish the pushes it found half-done."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from worker.sync.context import SyncContext
from worker.sync.failures import retry_order
from worker.sync.outcomes import PushOutcome
from worker.sync.reconcile import ReconcileSummary, reconcile


@dataclass(frozen=True)
class Repaired:
    summary: ReconcileSummary
    resumed: list[PushOutcome] = field(default_factory=list)  # the pushes finished now

    @property
    def newly_completed(self) -> list[int]:
        """Mirror ids whose fulfilment is to be reported to their shop."""
        return self.summary.newly_completed


def reconcile_and_resume(ctx: SyncContext, since: datetime | None) -> Repaired:
    """``reconcile`` (since the stored cursor when ``since`` is None), then ``retry_order`` on the
    orders it found pushed to Picqer but not finished."""
    summary = reconcile(ctx, since)
    return Repaired(summary, [retry_order(ctx, order_id=order_id) for order_id in summary.to_resume])
