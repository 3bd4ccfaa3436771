"""The use cases the actors call, bound to one process's :class:`SyncContext`: ids in, outcomes out.

Each method is one use case of ``worker/sync``; the outcome tells the caller what to count and what
follow-up work to enqueue (a fulfilment report, a deferred push). The actors
(``worker/queue/actors.py``) are declared over any object with these methods, so queue tests pass
their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from datetime import datetime

from worker.db import orders
from worker.db.session import session_scope
from worker.infra.locks import NamedLocks, OrderLocked, OrderLockFactory
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.dead_letters import record_dead_fulfilment, record_dead_inbox_event, record_dead_push
from worker.sync.fulfilment_report import report_fulfilment
from worker.sync.health import AccountHealth
from worker.sync.outcomes import EventOutcome, PushOutcome
from worker.sync.picqer_events import RecentlyApplied, process_picqer_event
from worker.sync.polling import poll_source
from worker.sync.repair import Repaired, reconcile_and_resume
from worker.sync.shop_events import AppliedShopEvent, fetch_and_push, process_shop_event

log = get_logger(__name__)


class SyncHandlers:
    """``health`` records the accounts that refuse our credentials (one per process, shared with the
    Picqer client's :class:`~worker.sync.health.PicqerAccountGuard`); ``running`` keeps a poll or a
    reconcile to one run at a time (:func:`worker.infra.locks.running_job_locks`)."""

    def __init__(
        self,
        ctx: SyncContext,
        *,
        health: AccountHealth | None = None,
        running: OrderLockFactory | None = None,
    ) -> None:
        self.ctx = ctx
        self.health = health if health is not None else AccountHealth(ctx.engine)
        self.running = running if running is not None else NamedLocks()
        # the Picqer events this process applied lately: their own messages are then no-ops
        self.applied_events = RecentlyApplied()

    @contextmanager
    def _alone(self, kind: str, name: str) -> Iterator[bool]:
        """Whether this is the only run of ``kind`` ``name``; held for the block when it is.

        A poll that outlasts its interval would otherwise be joined by the next firing, and by the
        one after: every run re-reads the same window from the same cursor, shares the shop's rate
        limit with the others, and none ends to move the cursor. The run under way covers what a
        second would do, so the second is skipped, not queued.
        """
        with ExitStack() as held:
            try:
                held.enter_context(self.running(kind, name))
            except OrderLocked:
                log.info(f"{kind}_skipped", name=name, reason=f"a {kind} of {name} is still running")
                yield False
                return
            yield True

    def process_shop_event(self, inbox_id: int) -> AppliedShopEvent | None:
        return process_shop_event(self.ctx, inbox_id, health=self.health)

    def process_picqer_event(self, inbox_id: int) -> list[EventOutcome]:
        """The outcomes of every event applied with it (its batch); see ``picqer_events``."""
        return process_picqer_event(self.ctx, inbox_id, recent=self.applied_events)

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
        with self._alone("poll", source) as alone:
            if not alone:
                return
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

    def reconcile(self, since: datetime | None) -> Repaired | None:
        """None when another reconcile is still running (it covers what this one would do)."""
        with self._alone("reconcile", "picqer") as alone:
            return reconcile_and_resume(self.ctx, since) if alone else None

    def record_dead_inbox_event(self, inbox_id: int, reason: str) -> PushOutcome | None:
        return record_dead_inbox_event(self.ctx, inbox_id, reason)

    def record_dead_push(self, source: str, shop_order_id: str, reason: str) -> PushOutcome:
        return record_dead_push(self.ctx, source, shop_order_id, reason)

    def record_dead_fulfilment(self, order_row_id: int, reason: str) -> None:
        record_dead_fulfilment(self.ctx, order_row_id, reason)
