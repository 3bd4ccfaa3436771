"""The use cases the actors call, bound to one process's :class:`SyncContext`: ids in, outcomes out.

Each method is one use case of ``worker/sync``; the outcome tells the caller what to count and what
follow-up work to enqueue (a fulfilment report, a deferred push). The actors
(``worker/queue/actors.py``) are declared over any object with these methods, so queue tests pass
their own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from worker.sync.context import SyncContext
from worker.sync.dead_letters import record_dead_fulfilment, record_dead_inbox_event, record_dead_push
from worker.sync.fulfilment_report import report_fulfilment
from worker.sync.outcomes import EventOutcome, PushOutcome
from worker.sync.picqer_events import process_picqer_event
from worker.sync.polling import poll_source
from worker.sync.repair import Repaired, reconcile_and_resume
from worker.sync.shop_events import AppliedShopEvent, fetch_and_push, process_shop_event


class SyncHandlers:
    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx

    def process_shop_event(self, inbox_id: int) -> AppliedShopEvent | None:
        return process_shop_event(self.ctx, inbox_id)

    def process_picqer_event(self, inbox_id: int) -> EventOutcome | None:
        return process_picqer_event(self.ctx, inbox_id)

    def push_shop_order(self, source: str, shop_order_id: str) -> PushOutcome:
        return fetch_and_push(self.ctx, self.ctx.settings.source(source), shop_order_id)

    def report_fulfilment(self, order_row_id: int) -> bool:
        return report_fulfilment(self.ctx, order_row_id)

    def poll_source(
        self,
        source: str,
        *,
        defer_push: Callable[[str, str], None],
        on_outcome: Callable[[PushOutcome], None],
    ) -> None:
        settings = self.ctx.settings.source(source)
        poll_source(
            self.ctx,
            settings,
            platform=self.ctx.platform(settings),
            open_source=self.ctx.open_source,
            defer_push=defer_push,
            on_outcome=on_outcome,
        )

    def reconcile(self, since: datetime | None) -> Repaired:
        return reconcile_and_resume(self.ctx, since)

    def record_dead_inbox_event(self, inbox_id: int, reason: str) -> PushOutcome | None:
        return record_dead_inbox_event(self.ctx, inbox_id, reason)

    def record_dead_push(self, source: str, shop_order_id: str, reason: str) -> PushOutcome:
        return record_dead_push(self.ctx, source, shop_order_id, reason)

    def record_dead_fulfilment(self, order_row_id: int, reason: str) -> None:
        record_dead_fulfilment(self.ctx, order_row_id, reason)
