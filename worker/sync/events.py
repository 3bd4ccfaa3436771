"""Picqer's webhooks into the mirror (PRODUCT.md, behaviour 5).

Events come late, twice and out of order (facts sheet §5.6, §8.5): each one is applied only when
its order's ``updated`` is newer than what the mirror holds, so the mirror never moves back.
Events about orders we did not push are logged and ignored.

Many events are applied in one transaction (:func:`apply_picqer_events`, the worker's batches):
the orders they name are read and locked once, each event is decided in turn on the row as the
events before it left it, and the changed rows are written together when the transaction commits.
One event is a batch of one (:func:`apply_picqer_event`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import Session

from adapters.picqer.models import PicqerEvent, PicqerOrder, Shipment
from adapters.picqer.status import PicqerStatus
from worker.db import orders
from worker.db.models import Order
from worker.db.session import session_scope
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.outcomes import EventKind, EventOutcome
from worker.sync.status import picklist_rows, record_shipment, state_change

log = get_logger(__name__)

SHIPMENT_EVENTS = ("picklists.shipments.created", "picklists.shipments.cancelled")
# the status an event implies when its order object carries none
IMPLIED_STATUS = {
    "orders.completed": PicqerStatus.COMPLETED,
    "orders.paused": PicqerStatus.PAUSED,
    "orders.resumed": PicqerStatus.PROCESSING,
}


@dataclass(frozen=True)
class AppliedEvent:
    """One event's outcome, and its log line: written once the transaction has committed, so the
    log never tells of a change that was rolled back."""

    outcome: EventOutcome
    log_event: str | None = None
    log_fields: dict[str, object] = field(default_factory=dict)

    def log(self) -> None:
        if self.log_event is not None:
            log.info(self.log_event, **self.log_fields)


def apply_picqer_event(ctx: SyncContext, event: PicqerEvent) -> EventOutcome:
    """Apply one Picqer event; ``newly_completed`` says the shop should now hear of the fulfilment."""
    with session_scope(ctx.engine) as session:
        [applied] = apply_picqer_events(session, [event])
    applied.log()
    return applied.outcome


def apply_picqer_events(session: Session, events: Sequence[PicqerEvent]) -> list[AppliedEvent]:
    """Apply ``events`` in the caller's transaction, in their order; one outcome per event.

    Newest ``updated`` wins for each event as if they were applied one by one: an order's later
    events see what its earlier ones did. The caller commits, then logs each (:meth:`AppliedEvent.log`).
    """
    views = [_order_view(event) for event in events]
    shipments = [event.shipment() if event.event in SHIPMENT_EVENTS else None for event in events]
    idorders = {view.idorder for view in views if view is not None}
    idorders |= {s.idorder for s in shipments if s is not None and s.idorder is not None}
    # locked first, in idorder order, before any picklist or shipment: see lock_orders_by_idorder
    known = orders.lock_orders_by_idorder(session, idorders=idorders)
    picklists: list[orders.PicklistRow] = []
    applied: list[AppliedEvent] = []
    for event, view, shipment in zip(events, views, shipments, strict=True):
        if event.event.startswith("orders."):
            applied.append(_apply_order_event(event, view, known, picklists))
        elif event.event in SHIPMENT_EVENTS:
            # a shipment may find its order through a picklist an earlier event of the batch brought
            orders.upsert_picklists(session, picklists)
            picklists.clear()
            applied.append(_apply_shipment_event(session, event, shipment))
        else:
            outcome = EventOutcome(
                kind=EventKind.IGNORED, event=event.event, reason="not an event the mirror follows"
            )
            applied.append(AppliedEvent(outcome))
    orders.upsert_picklists(session, picklists)
    return applied


def _order_view(event: PicqerEvent) -> PicqerOrder | None:
    """The order of an ``orders.*`` event, with the status its event implies when it carries none."""
    if not event.event.startswith("orders."):
        return None
    picqer = event.order()
    if picqer is not None and picqer.status is None and event.event in IMPLIED_STATUS:
        picqer = picqer.model_copy(update={"status": IMPLIED_STATUS[event.event]})
    return picqer


def _apply_order_event(
    event: PicqerEvent,
    picqer: PicqerOrder | None,
    known: dict[int, Order],
    picklists: list[orders.PicklistRow],
) -> AppliedEvent:
    if picqer is None:
        return AppliedEvent(
            EventOutcome(kind=EventKind.IGNORED, event=event.event, reason="no order in the event")
        )
    order = known.get(picqer.idorder)
    if order is None or order.id is None:
        return AppliedEvent(
            EventOutcome(
                kind=EventKind.IGNORED,
                event=event.event,
                idorder=picqer.idorder,
                reason="not an order we pushed",
            ),
            "picqer_event_unknown_order",
            {"picqer_event": event.event, "idorder": picqer.idorder},
        )
    picklists.extend(picklist_rows(order.id, picqer))
    change, fields = state_change(order, picqer, stamp=event.event_triggered_at)
    if fields:
        orders.change_order(order, **fields)  # written with the batch's other rows at the flush
    return AppliedEvent(
        EventOutcome(
            kind=EventKind.APPLIED if change.changed else EventKind.STALE,
            event=event.event,
            idorder=picqer.idorder,
            order_id=order.id,
            status=order.picqer_status if change.changed else change.previous_status,
            newly_completed=change.newly_completed,
        ),
        "picqer_event_applied" if change.changed else "picqer_event_stale",
        {
            "picqer_event": event.event,
            "source": order.source,
            "reference": order.reference,
            "idorder": picqer.idorder,
            "status": picqer.status,
            "previous_status": change.previous_status,
        },
    )


def _apply_shipment_event(session: Session, event: PicqerEvent, shipment: Shipment | None) -> AppliedEvent:
    if shipment is None:
        return AppliedEvent(
            EventOutcome(kind=EventKind.IGNORED, event=event.event, reason="no shipment in the event")
        )
    order = orders.get_order_by_idorder(session, idorder=shipment.idorder) if shipment.idorder else None
    if order is None and shipment.idpicklist is not None:
        picklist = orders.find_picklist(session, idpicklist=shipment.idpicklist)
        order = orders.get_order_by_id(session, order_id=picklist.order_id) if picklist else None
    if order is None or order.id is None:
        return AppliedEvent(
            EventOutcome(
                kind=EventKind.IGNORED,
                event=event.event,
                idorder=shipment.idorder,
                reason="not an order we pushed",
            ),
            "picqer_event_unknown_order",
            {"picqer_event": event.event, "idorder": shipment.idorder},
        )
    record_shipment(
        session, order_id=order.id, shipment=shipment, cancelled=event.event.endswith(".cancelled")
    )
    return AppliedEvent(
        EventOutcome(
            kind=EventKind.SHIPMENT,
            event=event.event,
            idorder=order.idorder,
            order_id=order.id,
            status=order.picqer_status,
        ),
        "picqer_shipment_recorded",
        {
            "source": order.source,
            "reference": order.reference,
            "idorder": order.idorder,
            "idshipment": shipment.idshipment,
            "trackingcode": shipment.trackingcode,
        },
    )
