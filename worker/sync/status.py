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


def state_change(
    order: Order, picqer: PicqerOrder, *, stamp: datetime | None = None
) -> tuple[StateChange, dict[str, object]]:
    """What Picqer's view of the order changes in the row: the change and the fields to set (none
    when it is not newer). Nothing is written: the caller holds the row locked, and writes."""
    updated = picqer.updated or stamp
    previous = order.picqer_status
    status = picqer.status
    if not status or not is_newer(
        stored_status=previous, stored_updated=order.picqer_updated, status=status, updated=updated
    ):
        return StateChange(changed=False, newly_completed=False, previous_status=previous), {}
    fields: dict[str, object] = {"picqer_status": status, "picqer_updated": updated or order.picqer_updated}
    if picqer.orderid and not order.orderid:
        fields["orderid"] = picqer.orderid
    newly_completed = status == PicqerStatus.COMPLETED and previous != PicqerStatus.COMPLETED
    if newly_completed:
        fields["completed_at"] = utcnow()
    return StateChange(changed=True, newly_completed=newly_completed, previous_status=previous), fields


def picklist_rows(order_id: int, picqer: PicqerOrder) -> list[orders.PicklistRow]:
    """The order's picklists as Picqer gave them, to store whether or not its status is newer."""
    return [
        orders.PicklistRow(
            order_id=order_id,
            idpicklist=picklist.idpicklist,
            picklistid=picklist.picklistid,
            status=picklist.status,
            updated=picklist.updated,
        )
        for picklist in picqer.picklists
    ]


def apply_order_state(
    session: Session, order: Order, picqer: PicqerOrder, *, stamp: datetime | None = None
) -> StateChange:
    """Move ``order`` to Picqer's status when it is newer; store its picklists either way.

    Decided on the row as it is now, locked until the caller's transaction ends (``order`` may have
    been read in an earlier one): a Picqer event applied meanwhile is never overwritten by an older
    view. The row is locked before its picklists, as :func:`worker.sync.events.apply_picqer_events`
    does, so the two never wait for each other in a circle.
    """
    assert order.id is not None
    current = orders.lock_order(session, order_id=order.id)
    if current is None:
        raise LookupError(f"mirror order {order.id} does not exist")
    orders.upsert_picklists(session, picklist_rows(order.id, picqer))
    change, fields = state_change(current, picqer, stamp=stamp)
    if fields:
        orders.change_order(current, **fields)
        session.flush()
    return change


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
