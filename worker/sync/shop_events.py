"""A stored shop webhook, applied once: push the order it carries, fetch it first, or cancel it.

The receiver stored the parsed webhook in the inbox (``worker/sync/inbox.py``); this reads it back
by id. An order body is pushed as given unless the platform says it is not the whole order (then
the order is fetched from the shop); a webhook with only an id is fetched; a deleted order is
cancelled in Picqer when it was ever pushed.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

from adapters.draft import MappedOrder, ShopOrderState
from worker.config import SourceSettings
from worker.db import orders
from worker.db.session import session_scope
from worker.sync import inbox
from worker.sync.context import SyncContext
from worker.sync.health import AccountHealth
from worker.sync.outcomes import PushOutcome
from worker.sync.push import push_order
from worker.sync.reasons import failure_reason
from worker.sync.shop_orders import map_and_push


@dataclass(frozen=True)
class AppliedShopEvent:
    received_at: datetime  # when the receiver stored it: the start of the push latency
    outcome: PushOutcome | None = None  # None when there was nothing to push


def process_shop_event(
    ctx: SyncContext, inbox_id: int, *, health: AccountHealth | None = None
) -> AppliedShopEvent | None:
    """Apply the stored shop webhook ``inbox_id``; None when it is gone or was applied already.

    A failed attempt is counted on the row, with its reason, and the error raised for a retry. A
    shop that refuses our credentials is recorded in ``health`` and raises ``AccountUnavailable``
    (the row stays pending, no order fails).
    """
    row = inbox.load_unprocessed(ctx.engine, inbox_id)
    if row is None:
        return None
    source = ctx.settings.source(row.source)  # ConfigError (fatal) when it was removed
    event = inbox.parse_shop_event_payload(row.payload)
    try:
        with health.guard(source.name) if health is not None else nullcontext():
            outcome = _apply(ctx, source, event)
    except Exception as error:
        inbox.record_attempt(ctx.engine, inbox_id=inbox_id, error=failure_reason(error))
        raise
    inbox.mark_processed(ctx.engine, inbox_id=inbox_id)
    return AppliedShopEvent(received_at=row.received_at, outcome=outcome)


def _apply(ctx: SyncContext, source: SourceSettings, event: inbox.ShopEvent) -> PushOutcome | None:
    if event.deleted:
        return cancel_deleted_order(ctx, source, event.shop_order_id)
    if event.order is not None:
        shop_order_id = event.shop_order_id or str(event.order.get("id"))
        platform = ctx.platform(source)
        if platform.needs_full_order is not None and platform.needs_full_order(event.order):
            return fetch_and_push(ctx, source, shop_order_id)
        return map_and_push(ctx, platform, source, event.order, shop_order_id)
    if event.shop_order_id is not None:
        return fetch_and_push(ctx, source, event.shop_order_id)
    return None


def fetch_and_push(ctx: SyncContext, source: SourceSettings, shop_order_id: str) -> PushOutcome:
    """Read the order as the shop has it now, map it and push it."""
    shop = ctx.open_source(source)
    try:
        raw = shop.get_order(shop_order_id)
    finally:
        shop.close()
    return map_and_push(ctx, ctx.platform(source), source, raw, shop_order_id)


def cancel_deleted_order(
    ctx: SyncContext, source: SourceSettings, shop_order_id: str | None
) -> PushOutcome | None:
    """An order deleted in the shop: cancelled in Picqer as any cancellation is; None when it was
    never pushed (nothing to cancel)."""
    if shop_order_id is None:
        return None
    with session_scope(ctx.engine) as session:
        row = orders.get_order(session, source=source.name, shop_order_id=shop_order_id)
    if row is None:
        return None
    mapped = MappedOrder(
        source=source.name,
        platform=source.platform,
        shop_order_id=shop_order_id,
        shop_order_number=row.shop_order_number,
        shop_status="deleted",
        state=ShopOrderState.DELETED,
        reason="deleted in the shop",
    )
    return push_order(ctx, mapped)
