"""Shop orders that are not (or no longer) for the warehouse: cancelled, unpaid, nothing to ship.

A cancelled shop order cancels its Picqer order: a concept order is cancelled; one being picked is
paused with a reason or force-cancelled (the source's ``on_cancel_processing``); a completed one is
recorded as a conflict for a person (PRODUCT.md, behaviour 4).
"""

from __future__ import annotations

from adapters.draft import MappedOrder, ShopOrderState
from adapters.picqer.status import PICKING_STATUSES, UNPROCESSED_STATUSES, PicqerStatus
from worker.db import orders
from worker.db.models import Order, SyncState, SyncStep
from worker.db.session import session_scope
from worker.logging import get_logger
from worker.sync.adopt import adopt_by_reference
from worker.sync.context import SyncContext
from worker.sync.outcomes import PushKind, PushOutcome, outcome
from worker.sync.record import record
from worker.sync.status import apply_order_state

log = get_logger(__name__)

SKIP_REASONS = {
    ShopOrderState.UNPAID: "unpaid",
    ShopOrderState.NOTHING_TO_SHIP: "nothing to ship",
    ShopOrderState.CANCELLED: "cancelled",
    ShopOrderState.DELETED: "cancelled",
}


def skip_unready(ctx: SyncContext, order: Order, mapped: MappedOrder) -> PushOutcome:
    """UNPAID or NOTHING_TO_SHIP: skipped when never pushed; left alone (and noted) when pushed."""

    reason = SKIP_REASONS.get(mapped.state, mapped.state.value)
    if order.idorder is not None or order.sync_step not in (SyncStep.NONE, ""):
        # Picqer has (or may have) it: an unpaid or empty shop order now is for a person to judge
        log.info(
            "order_not_ready_after_push", source=order.source, reference=order.reference, state=mapped.state
        )
        return outcome(order, PushKind.UNCHANGED, f"{reason} in the shop, but already in Picqer")
    note = f"{reason}: {mapped.reason}" if mapped.reason else reason
    order = record(ctx, order, sync_state=SyncState.SKIPPED, note=note)
    log.info("order_skipped", source=order.source, reference=order.reference, reason=reason)
    return outcome(order, PushKind.SKIPPED, note)


def cancel_in_picqer(ctx: SyncContext, order: Order, mapped: MappedOrder) -> PushOutcome:

    if order.idorder is None and order.sync_step == SyncStep.CREATING:
        order = adopt_by_reference(ctx, order, pushed_draft=None) or order
    if order.idorder is None:
        return skip_unready(ctx, record(ctx, order, sync_step=SyncStep.NONE), mapped)
    if order.sync_state in (SyncState.CANCELLED, SyncState.PAUSED):
        return outcome(order, PushKind.UNCHANGED, "cancellation already handled")

    current = ctx.picqer.get_order(order.idorder)  # the mirror may lag; decide on Picqer's status
    with session_scope(ctx.engine) as session:
        apply_order_state(session, order, current)
    status = current.status
    reference = order.reference
    if status == PicqerStatus.CANCELLED:
        return _cancelled(ctx, order, "already cancelled in Picqer")
    if status in UNPROCESSED_STATUSES:
        ctx.picqer.cancel_order(order.idorder)
        return _cancelled(ctx, order, None)
    if status in PICKING_STATUSES:
        settings = ctx.source_settings(order.source)
        policy = settings.on_cancel_processing if settings is not None else "pause"
        if policy == "force_cancel":
            ctx.picqer.cancel_order(order.idorder, force=True)
            return _cancelled(ctx, order, "force-cancelled while being picked")
        reason = f"Cancelled in the shop (order {reference}); cancel it in Picqer or ship it by hand"
        if status == PicqerStatus.PROCESSING:
            ctx.picqer.pause_order(order.idorder, reason)
        order = record(
            ctx, order, sync_state=SyncState.PAUSED, picqer_status=PicqerStatus.PAUSED, note=reason
        )
        log.warning("order_paused", source=order.source, reference=reference, idorder=order.idorder)
        return outcome(order, PushKind.PAUSED, reason)
    reason = f"cancelled in the shop after Picqer marked it {status}; refund or return it by hand"
    order = record(ctx, order, sync_state=SyncState.CONFLICT, note=reason)
    log.warning(
        "order_conflict", source=order.source, reference=reference, idorder=order.idorder, reason=reason
    )
    return outcome(order, PushKind.CONFLICT, reason)


def _cancelled(ctx: SyncContext, order: Order, note: str | None) -> PushOutcome:

    assert order.id is not None
    with session_scope(ctx.engine) as session:
        order = orders.update_order(
            session,
            order_id=order.id,
            sync_state=SyncState.CANCELLED,
            picqer_status=PicqerStatus.CANCELLED,
            note=note,
        )
    log.info("order_cancelled", source=order.source, reference=order.reference, idorder=order.idorder)
    return outcome(order, PushKind.CANCELLED, note)
