"""The use cases the actors call, bound to one process's :class:`SyncContext`: ids in, outcomes out.

Each method is one use case of ``worker/sync``; the outcome tells the caller what to count and what
follow-up work to enqueue (a fulfilment report, a deferred push). The actors
(``worker/queue/actors.py``) are declared over any object with these methods, so queue tests pass
their own.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime

from worker.db import orders
from worker.db.session import session_scope
from worker.sync.context import SyncContext
from worker.sync.dead_letters import record_dead_fulfilment, record_dead_inbox_event, record_dead_push
from worker.sync.fulfilment_report import report_fulfilment
from worker.sync.health import AccountHealth
from worker.sync.outcomes import EventOutcome, PushOutcome
from worker.sync.picqer_events import process_picqer_event
from worker.sync.polling import poll_source
from worker.sync.repair import Repaired, reconcile_and_resume
from worker.sync.shop_events import AppliedShopEvent, fetch_and_push, process_shop_event


class SyncHandlers:
    """``health`` records the accounts that refuse our credentials (one per process, shared with the
    Picqer client's :class:`~worker.sync.health.PicqerAccountGuard`)."""

    def __init__(self, ctx: SyncContext, *, health: AccountHealth | None = None) -> None:
        self.ctx = ctx
        self.health = health if health is not None else AccountHealth(ctx.engine)

    def process_shop_event(self, inbox_id: int) -> AppliedShopEvent | None:
        return process_shop_event(self.ctx, inbox_id, health=self.health)

    def process_picqer_event(self, inbox_id: int) -> EventOutcome | None:
        return process_picqer_event(self.ctx, inbox_id)

    def push_shop_order(self, source: str, shop_order_id: str) -> PushOutcome:
        settings = self.ctx.settings.source(source)
        with self.health.guard(source):
            pushed = fetch_and_push(self.ctx, settings, shop_order_id)
        self.health.ok(source)  # the shop answered the fetch
        return pushed

    def report_fulfilment(self, order_row_id: int) -> bool:
        with session_scope(self.ctx.engine) as session:
            row = orders.get_order_by_id(session, order_id=order_row_id)
            source = row.source if row is not None else None
        with self.health.guard(source) if source is not None else nullcontext():
            return report_fulfilment(self.ctx, order_row_id)

    def poll_source(
        self,
        source: str,
        *,
        defer_push: Callable[[str, str], None],
        on_outcome: Callable[[PushOutcome], None],
    ) -> None:
        settings = self.ctx.settings.source(source)
        # a refused key ends the poll before its cursor moves (AccountUnavailable is a 429 of sorts)
        with self.health.guard(source):
            poll_source(
                self.ctx,
                settings,
                platform=self.ctx.platform(settings),
                open_source=self.ctx.open_source,
                defer_push=defer_push,
                on_outcome=on_outcome,
            )
        self.health.ok(source)

    def reconcile(self, since: datetime | None) -> Repaired:
        return reconcile_and_resume(self.ctx, since)

    def record_dead_inbox_event(self, inbox_id: int, reason: str) -> PushOutcome | None:
        return record_dead_inbox_event(self.ctx, inbox_id, reason)

    def record_dead_push(self, source: str, shop_order_id: str, reason: str) -> PushOutcome:
        return record_dead_push(self.ctx, source, shop_order_id, reason)

    def record_dead_fulfilment(self, order_row_id: int, reason: str) -> None:
        record_dead_fulfilment(self.ctx, order_row_id, reason)
