"""The handlers the actors call in production: load by id, call the ``worker/sync`` use case.

One :class:`SyncHandlers` per process, shared by its worker threads; the ``SyncContext`` (engine,
Picqer client with the shared budget, tag cache, order lock) is built on first use, so a web
process that only enqueues never opens a Picqer client.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from adapters.draft import MappedOrder, ShopOrderState
from adapters.picqer.budget import RequestBudget
from adapters.picqer.webhooks import parse_event
from adapters.platform import ShopPlatform
from adapters.registry import get_platform
from adapters.source import OrderSource
from worker import metrics
from worker.config import Settings, SourceSettings
from worker.db import orders
from worker.db.models import InboxEvent, SyncState, utcnow
from worker.db.session import session_scope
from worker.errors import WebhookRejected
from worker.logging import get_logger
from worker.queue import inbox
from worker.queue.middleware import failure_reason
from worker.sync.context import SyncContext, build_context
from worker.sync.events import apply_picqer_event
from worker.sync.failures import retry_order
from worker.sync.fulfilment import fulfilment_task, mark_fulfilment_reported, with_picqer_tracking
from worker.sync.outcomes import PushKind, PushOutcome
from worker.sync.polling import poll_source
from worker.sync.push import push_order, record_failure
from worker.sync.reconcile import reconcile
from worker.sync.shop_orders import map_and_push

log = get_logger(__name__)

# Picqer sends picklists.shipments.created and orders.completed at the same moment; reporting the
# fulfilment a little later lets the tracking code land in the mirror first
FULFILMENT_DELAY_MS = 10_000


class FollowUps(Protocol):
    """Work a handler hands back to the queue (the declared actors provide it)."""

    def report_fulfilment(self, order_row_id: int, *, delay_ms: int | None = None) -> None: ...

    def push_shop_order(self, source: str, shop_order_id: str) -> None: ...


class SyncHandlers:
    """:class:`worker.queue.handlers.Handlers` over ``worker/sync``."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine,
        redis_client: Any = None,
        budget: RequestBudget | None = None,
        context: SyncContext | None = None,
        platforms: Callable[[str], ShopPlatform] = get_platform,
        open_source: Callable[[SourceSettings], OrderSource] | None = None,
        fulfilment_delay_ms: int = FULFILMENT_DELAY_MS,
    ) -> None:
        self.settings = settings
        self.fulfilment_delay_ms = fulfilment_delay_ms  # the demo and tests need not wait 10 s
        self.engine = engine
        self._redis = redis_client
        self._budget = budget
        self._context = context
        self._context_lock = threading.Lock()
        self._platforms = platforms
        self._open_source = open_source or self._default_open_source
        self.followups: FollowUps | None = None

    # -- plumbing ------------------------------------------------------------------------------

    def context(self) -> SyncContext:
        with self._context_lock:
            if self._context is None:
                self._context = build_context(
                    self.settings, engine=self.engine, redis=self._redis, budget=self._budget
                )
            return self._context

    def close(self) -> None:
        with self._context_lock:
            if self._context is not None:
                self._context.close()
                self._context = None

    def _default_open_source(self, source: SourceSettings) -> OrderSource:
        return self._platforms(source.platform).source_class(source)

    def _followups(self) -> FollowUps:
        if self.followups is None:
            raise RuntimeError("SyncHandlers.followups is not bound to the declared actors")
        return self.followups

    def _count(self, outcome: PushOutcome, *, received_at: datetime | None = None) -> None:
        if outcome.kind is PushKind.PUSHED:
            metrics.ORDERS_PUSHED.labels(outcome.source).inc()
            if received_at is not None:
                metrics.PUSH_LATENCY.labels(outcome.source).observe((utcnow() - received_at).total_seconds())
        elif outcome.kind is PushKind.FAILED:
            metrics.ORDERS_FAILED.labels(outcome.source).inc()

    def _load_unprocessed(self, inbox_id: int) -> tuple[str, str, datetime] | None:
        with session_scope(self.engine) as session:
            row = session.get(InboxEvent, inbox_id)
            if row is None:
                log.warning("inbox_event_missing", inbox_id=inbox_id)
                return None
            if row.processed_at is not None:
                log.info("inbox_event_already_processed", inbox_id=inbox_id)  # a duplicate message
                return None
            return row.source, row.payload, row.received_at

    def _fetch_and_push(
        self, source: SourceSettings, shop_order_id: str, received_at: datetime | None
    ) -> None:
        shop = self._open_source(source)
        try:
            raw = shop.get_order(shop_order_id)
        finally:
            shop.close()
        platform = self._platforms(source.platform)
        self._count(
            map_and_push(self.context(), platform, source, raw, shop_order_id), received_at=received_at
        )

    # -- the actors' work --------------------------------------------------------------------------

    def process_picqer_event(self, inbox_id: int) -> None:
        loaded = self._load_unprocessed(inbox_id)
        if loaded is None:
            return
        _, payload, _ = loaded
        try:
            event = parse_event(payload.encode("utf-8"))
        except WebhookRejected as error:  # verified at the door; only a corrupted row gets here
            inbox.abandon(self.engine, inbox_id=inbox_id, reason=error.reason)
            return
        try:
            outcome = apply_picqer_event(self.context(), event)
        except Exception as error:
            inbox.record_attempt(self.engine, inbox_id=inbox_id, error=failure_reason(error))
            raise
        inbox.mark_processed(self.engine, inbox_id=inbox_id)
        if outcome.newly_completed and outcome.order_id is not None:
            self._followups().report_fulfilment(outcome.order_id, delay_ms=self.fulfilment_delay_ms)

    def process_shop_event(self, inbox_id: int) -> None:
        loaded = self._load_unprocessed(inbox_id)
        if loaded is None:
            return
        source_name, payload, received_at = loaded
        source = self.settings.source(source_name)  # ConfigError (fatal) when it was removed
        event = inbox.parse_shop_event_payload(payload)
        try:
            if event.deleted:
                self._delete(source, event.shop_order_id)
            elif event.order is not None:
                platform = self._platforms(source.platform)
                shop_order_id = event.shop_order_id or str(event.order.get("id"))
                if platform.needs_full_order is not None and platform.needs_full_order(event.order):
                    self._fetch_and_push(source, shop_order_id, received_at)
                else:
                    outcome = map_and_push(self.context(), platform, source, event.order, shop_order_id)
                    self._count(outcome, received_at=received_at)
            elif event.shop_order_id is not None:
                self._fetch_and_push(source, event.shop_order_id, received_at)
        except Exception as error:
            inbox.record_attempt(self.engine, inbox_id=inbox_id, error=failure_reason(error))
            raise
        inbox.mark_processed(self.engine, inbox_id=inbox_id)

    def _delete(self, source: SourceSettings, shop_order_id: str | None) -> None:
        if shop_order_id is None:
            return
        with session_scope(self.engine) as session:
            row = orders.get_order(session, source=source.name, shop_order_id=shop_order_id)
        if row is None:
            return  # never pushed: nothing to cancel
        mapped = MappedOrder(
            source=source.name,
            platform=source.platform,
            shop_order_id=shop_order_id,
            shop_order_number=row.shop_order_number,
            shop_status="deleted",
            state=ShopOrderState.DELETED,
            reason="deleted in the shop",
        )
        self._count(push_order(self.context(), mapped))

    def push_shop_order(self, source: str, shop_order_id: str) -> None:
        self._fetch_and_push(self.settings.source(source), shop_order_id, None)

    def report_fulfilment(self, order_row_id: int) -> None:
        task = fulfilment_task(self.engine, order_id=order_row_id)
        if task is None:
            return  # reported already, or not completed
        ctx = self.context()
        # one order's hook, reconcile and the fulfilment sweep each ask for this report: run one at
        # a time, and look again once it is ours (shops refuse, or double, a second fulfilment)
        with ctx.order_lock(task.source, task.shop_order_id):
            task = fulfilment_task(self.engine, order_id=order_row_id)
            if task is None:
                return
            task = with_picqer_tracking(ctx, task)  # its shipments hook may be lost or late
            source = self.settings.source(task.source)
            platform = self._platforms(source.platform)
            tracking = [item for item in task.shipments if item.trackingcode]
            shop = self._open_source(source)
            try:
                platform.report_fulfilment(shop, shop_order_id=task.shop_order_id, tracking=tracking)
            finally:
                shop.close()
            mark_fulfilment_reported(self.engine, order_id=order_row_id)
        log.info("fulfilment_reported", source=task.source, reference=task.reference, tracking=len(tracking))

    def poll_source(self, source: str) -> None:
        settings = self.settings.source(source)
        poll_source(
            self.context(),
            settings,
            platform=self._platforms(settings.platform),
            open_source=self._open_source,
            defer_push=self._followups().push_shop_order,
            on_outcome=self._count,
        )

    def reconcile(self, since: datetime | None) -> None:
        ctx = self.context()
        summary = reconcile(ctx, since)
        for order_id in summary.to_resume:
            self._count(retry_order(ctx, order_id=order_id))
        for order_id in summary.newly_completed:
            self._followups().report_fulfilment(order_id)

    def record_dead_letter(
        self, actor_name: str, args: list[Any], kwargs: dict[str, Any], reason: str
    ) -> None:
        log.error("message_dead_lettered", failed_actor=actor_name, reason=reason)
        if actor_name in ("process_shop_event", "process_picqer_event") and args:
            self._dead_inbox_event(int(args[0]), reason)
        elif actor_name == "push_shop_order" and len(args) >= 2:
            self._record_order_failed(str(args[0]), str(args[1]), reason)
        elif actor_name == "report_fulfilment" and args:
            with session_scope(self.engine) as session:
                orders.update_order(
                    session,
                    order_id=int(args[0]),
                    sync_state=SyncState.FAILED,
                    failed_step="fulfilment",
                    last_error=f"the shop did not take the fulfilment: {reason}",
                )
        # poll_source and reconcile: the next scheduled run repairs; the log line is the record

    def _dead_inbox_event(self, inbox_id: int, reason: str) -> None:
        with session_scope(self.engine) as session:
            row = session.get(InboxEvent, inbox_id)
            source, payload = (row.source, row.payload) if row else (None, None)
        inbox.abandon(self.engine, inbox_id=inbox_id, reason=reason)
        if source is None or payload is None or source == inbox.PICQER_INBOX_SOURCE:
            return
        event = inbox.parse_shop_event_payload(payload)
        if event.shop_order_id is not None:
            self._record_order_failed(source, event.shop_order_id, reason)

    def _record_order_failed(self, source: str, shop_order_id: str, reason: str) -> None:
        with session_scope(self.engine) as session:
            row = orders.get_order(session, source=source, shop_order_id=shop_order_id)
            number = row.shop_order_number if row else shop_order_id
            step = (row.sync_step or "push") if row else "push"
        record_failure(
            self.context(),
            source=source,
            shop_order_id=shop_order_id,
            shop_order_number=number,
            reason=reason,
            step=step,
        )
        metrics.ORDERS_FAILED.labels(source).inc()
