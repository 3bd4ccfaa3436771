"""Picqer's view of an order into the mirror: the newest ``updated`` wins, nothing moves back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from adapters.picqer.models import PicqerOrder, Shipment
from adapters.picqer.status import PicqerStatus, status_rank
from worker.db import orders
from worker.db.models import Order, utcnow


@dataclass(frozen=True)
class StateChange:
    changed: bool
    newly_completed: bool
    previous_status: str | None


def is_newer(
    *, stored_status: str | None, stored_updated: datetime | None, status: str, updated: datetime | None
) -> bool:
    """Whether Picqer's ``status`` at ``updated`` is newer than what the mirror holds."""
    if stored_status is None:
        return True
    if updated is None or stored_updated is None:
        # without stamps, only a clear step forward is safe to take
        return status_rank(status) > status_rank(stored_status)
    if updated != stored_updated:
        return updated > stored_updated
    # Picqer stamps to the second; two changes within one second keep the one further along
    return status != stored_status and status_rank(status) > status_rank(stored_status)


def apply_order_state(
    session: Session, order: Order, picqer: PicqerOrder, *, stamp: datetime | None = None
) -> StateChange:
    """Move ``order`` to Picqer's status when it is newer; store its picklists either way."""
    assert order.id is not None
    updated = picqer.updated or stamp
    for picklist in picqer.picklists:
        orders.upsert_picklist(
            session,
            order_id=order.id,
            idpicklist=picklist.idpicklist,
            picklistid=picklist.picklistid,
            status=picklist.status,
            updated=picklist.updated,
        )
    previous = order.picqer_status
    status = picqer.status
    if not status or not is_newer(
        stored_status=previous, stored_updated=order.picqer_updated, status=status, updated=updated
    ):
        return StateChange(changed=False, newly_completed=False, previous_status=previous)
    fields: dict[str, object] = {"picqer_status": status, "picqer_updated": updated or order.picqer_updated}
    if picqer.orderid and not order.orderid:
        fields["orderid"] = picqer.orderid
    newly_completed = status == PicqerStatus.COMPLETED and previous != PicqerStatus.COMPLETED
    if newly_completed:
        fields["completed_at"] = utcnow()
    orders.update_order(session, order_id=order.id, **fields)
    return StateChange(changed=True, newly_completed=newly_completed, previous_status=previous)


def record_shipment(session: Session, *, order_id: int, shipment: Shipment, cancelled: bool = False) -> None:
    """Store one of Picqer's shipments of the order (its tracking), however it reached us."""
    orders.upsert_shipment(
        session,
        order_id=order_id,
        idshipment=shipment.idshipment,
        idpicklist=shipment.idpicklist,
        trackingcode=shipment.trackingcode,
        trackingurl=shipment.tracking_url,
        carrier=shipment.carrier_name,
        cancelled=cancelled or bool(shipment.cancelled),
    )
