"""A message that failed for good: record why, where a person will look (the failures list).

One function per kind of work; the queue maps each actor to its function. A poll or a reconcile
that failed needs no record: the next scheduled run repairs it, and the log line is the record.
"""

from __future__ import annotations

from worker.db import orders
from worker.db.models import SyncState
from worker.db.session import session_scope
from worker.sync import inbox
from worker.sync.context import SyncContext
from worker.sync.outcomes import PushOutcome
from worker.sync.push import record_failure


def record_dead_inbox_event(ctx: SyncContext, inbox_id: int, reason: str) -> PushOutcome | None:
    """A stored webhook given up on: the row is closed with the reason, and a shop event's order
    is recorded as failed (a Picqer event has no order of ours to fail)."""
    stored = inbox.stored_source_and_payload(ctx.engine, inbox_id)
    inbox.abandon(ctx.engine, inbox_id=inbox_id, reason=reason)
    if stored is None or stored[0] == inbox.PICQER_INBOX_SOURCE:
        return None
    source, payload = stored
    event = inbox.parse_shop_event_payload(payload)
    if event.shop_order_id is None:
        return None
    return record_dead_push(ctx, source, event.shop_order_id, reason)


def record_dead_push(ctx: SyncContext, source: str, shop_order_id: str, reason: str) -> PushOutcome:
    """A shop order that could not be pushed: failed at the step it had reached."""
    with session_scope(ctx.engine) as session:
        row = orders.get_order(session, source=source, shop_order_id=shop_order_id)
        number = row.shop_order_number if row else shop_order_id
        step = (row.sync_step or "push") if row else "push"
    return record_failure(
        ctx,
        source=source,
        shop_order_id=shop_order_id,
        shop_order_number=number,
        reason=reason,
        step=step,
    )


def record_dead_fulfilment(ctx: SyncContext, order_id: int, reason: str) -> None:
    """A fulfilment the shop would not take: the order fails at that step."""
    with session_scope(ctx.engine) as session:
        orders.update_order(
            session,
            order_id=order_id,
            sync_state=SyncState.FAILED,
            failed_step="fulfilment",
            last_error=f"the shop did not take the fulfilment: {reason}",
        )
