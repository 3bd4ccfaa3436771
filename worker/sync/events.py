"""Picqer's webhooks into the mirror (PRODUCT.md, behaviour 5).

Events come late, twice and out of order (facts sheet §5.6, §8.5): each one is applied only when
its order's ``updated`` is newer than what the mirror holds, so the mirror never moves back.
Events about orders we did not push are logged and ignored.
"""

from __future__ import annotations

from adapters.picqer.models import PicqerEvent
from adapters.picqer.status import PicqerStatus
from worker.db import orders
from worker.db.session import session_scope
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.outcomes import EventKind, EventOutcome
from worker.sync.status import apply_order_state, record_shipment

log = get_logger(__name__)

SHIPMENT_EVENTS = ("picklists.shipments.created", "picklists.shipments.cancelled")
# the status an event implies when its order object carries none
IMPLIED_STATUS = {
    "orders.completed": PicqerStatus.COMPLETED,
    "orders.paused": PicqerStatus.PAUSED,
    "orders.resumed": PicqerStatus.PROCESSING,
}


def apply_picqer_event(ctx: SyncContext, event: PicqerEvent) -> EventOutcome:
    """Apply one Picqer event; ``newly_completed`` says the shop should now hear of the fulfilment."""
    if event.event.startswith("orders."):
        return _apply_order_event(ctx, event)
    if event.event in SHIPMENT_EVENTS:
        return _apply_shipment_event(ctx, event)
    return EventOutcome(kind=EventKind.IGNORED, event=event.event, reason="not an event the mirror follows")


def _apply_order_event(ctx: SyncContext, event: PicqerEvent) -> EventOutcome:
    picqer = event.order()
    if picqer is None:
        return EventOutcome(kind=EventKind.IGNORED, event=event.event, reason="no order in the event")
    if picqer.status is None and event.event in IMPLIED_STATUS:
        picqer = picqer.model_copy(update={"status": IMPLIED_STATUS[event.event]})
    with session_scope(ctx.engine) as session:
        order = orders.get_order_by_idorder(session, idorder=picqer.idorder)
        if order is None:
            log.info("picqer_event_unknown_order", picqer_event=event.event, idorder=picqer.idorder)
            return EventOutcome(
                kind=EventKind.IGNORED,
                event=event.event,
                idorder=picqer.idorder,
                reason="not an order we pushed",
            )
        change = apply_order_state(session, order, picqer, stamp=event.event_triggered_at)
    kind = EventKind.APPLIED if change.changed else EventKind.STALE
    log.info(
        "picqer_event_applied" if change.changed else "picqer_event_stale",
        picqer_event=event.event,
        source=order.source,
        reference=order.reference,
        idorder=picqer.idorder,
        status=picqer.status,
        previous_status=change.previous_status,
    )
    return EventOutcome(
        kind=kind,
        event=event.event,
        idorder=picqer.idorder,
        order_id=order.id,
        status=order.picqer_status if change.changed else change.previous_status,
        newly_completed=change.newly_completed,
    )


def _apply_shipment_event(ctx: SyncContext, event: PicqerEvent) -> EventOutcome:
    shipment = event.shipment()
    if shipment is None:
        return EventOutcome(kind=EventKind.IGNORED, event=event.event, reason="no shipment in the event")
    with session_scope(ctx.engine) as session:
        order = orders.get_order_by_idorder(session, idorder=shipment.idorder) if shipment.idorder else None
        if order is None and shipment.idpicklist is not None:
            picklist = orders.find_picklist(session, idpicklist=shipment.idpicklist)
            order = orders.get_order_by_id(session, order_id=picklist.order_id) if picklist else None
        if order is None or order.id is None:
            log.info("picqer_event_unknown_order", picqer_event=event.event, idorder=shipment.idorder)
            return EventOutcome(
                kind=EventKind.IGNORED,
                event=event.event,
                idorder=shipment.idorder,
                reason="not an order we pushed",
            )
        record_shipment(
            session, order_id=order.id, shipment=shipment, cancelled=event.event.endswith(".cancelled")
        )
    log.info(
        "picqer_shipment_recorded",
        source=order.source,
        reference=order.reference,
        idorder=order.idorder,
        idshipment=shipment.idshipment,
        trackingcode=shipment.trackingcode,
    )
    return EventOutcome(
        kind=EventKind.SHIPMENT,
        event=event.event,
        idorder=order.idorder,
        order_id=order.id,
        status=order.picqer_status,
    )
