"""Which completed orders the shop has not heard of yet, with their tracking codes.

``apply_picqer_event`` flags ``newly_completed``; this query is the durable list behind that flag,
so a fulfilment report that failed (shop down) is found again on the next sweep. The tracking codes
come with Picqer's ``picklists.shipments.created`` hook; when the mirror has none for a completed
order (that hook was lost, or is still on its way), :func:`with_picqer_tracking` asks Picqer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from adapters.coerce import quantity, text
from adapters.picqer.client import PicqerClient
from adapters.picqer.status import PicklistStatus, PicqerStatus
from adapters.platform import Tracking
from adapters.types import JSONDict
from worker.db import orders
from worker.db.models import Order, utcnow
from worker.db.session import session_scope
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.status import record_shipment

log = get_logger(__name__)


@dataclass(frozen=True)
class FulfilmentTask:
    order_id: int
    source: str
    shop_order_id: str
    shop_order_number: str
    reference: str
    idorder: int | None
    completed_at: datetime | None
    shipments: tuple[Tracking, ...]


def orders_to_fulfil(engine: Engine, *, source: str | None = None, limit: int = 100) -> list[FulfilmentTask]:
    """Orders completed in Picqer and not yet reported to their shop, oldest completion first."""
    with session_scope(engine) as session:
        return [_task(session, order) for order in orders.list_to_fulfil(session, source=source, limit=limit)]


def fulfilment_task(engine: Engine, *, order_id: int) -> FulfilmentTask | None:
    """One order's task (for an actor given the id), or None when there is nothing to report."""
    with session_scope(engine) as session:
        order = orders.get_order_by_id(session, order_id=order_id)
        if (
            order is None
            or order.picqer_status != PicqerStatus.COMPLETED
            or order.fulfilment_reported_at is not None
        ):
            return None
        return _task(session, order)


def _task(session: Session, order: Order) -> FulfilmentTask:
    assert order.id is not None
    shipments = orders.list_shipments(session, order_id=order.id)
    return FulfilmentTask(
        order_id=order.id,
        source=order.source,
        shop_order_id=order.shop_order_id,
        shop_order_number=order.shop_order_number,
        reference=order.reference,
        idorder=order.idorder,
        completed_at=order.completed_at,
        shipments=tuple(Tracking(s.trackingcode, s.trackingurl, s.carrier, s.idpicklist) for s in shipments),
    )


def with_picqer_tracking(ctx: SyncContext, task: FulfilmentTask) -> FulfilmentTask:
    """``task``, completed with the shipments Picqer has for picklists the mirror knows none of.

    Hooks are hints: a lost (or late) ``picklists.shipments.created`` must not send the shop a
    fulfilment without its tracking code (or with only some of an order's codes), and nothing would
    send it again later. One request reads the order's picklists; only picklists without a known
    shipment cost one more each. An order that truly shipped without a tracking code is reported
    without one.
    """
    if task.idorder is None:
        return task
    known = {item.idpicklist for item in task.shipments if item.idpicklist is not None}
    if any(item.trackingcode for item in task.shipments) and not known:
        return task  # shipments recorded before picklists were kept: nothing to compare against
    picqer = ctx.picqer.get_order(task.idorder)
    found = [
        shipment
        for picklist in picqer.picklists
        if picklist.idpicklist not in known and picklist.status != PicklistStatus.CANCELLED
        for shipment in ctx.picqer.list_picklist_shipments(picklist.idpicklist)
    ]
    if not found:
        return task
    with session_scope(ctx.engine) as session:
        for shipment in found:
            record_shipment(session, order_id=task.order_id, shipment=shipment)
        order = orders.get_order_by_id(session, order_id=task.order_id)
        refreshed = _task(session, order) if order is not None else task
    log.info(
        "fulfilment_tracking_fetched",
        source=task.source,
        reference=task.reference,
        idorder=task.idorder,
        shipments=len(found),
    )
    return refreshed


def with_picklist_products(picqer: PicqerClient, task: FulfilmentTask) -> FulfilmentTask:
    """``task``, each shipment knowing its picklist's products when the order shipped in parts.

    A shop that fulfils by line (Shopify) can then report one fulfilment per Picqer picklist, each
    with the lines that parcel holds; an order shipped whole needs no look-up. One request per
    picklist, and only for orders whose tracking spans more than one picklist.
    """
    picklists = sorted({item.idpicklist for item in task.shipments if item.trackingcode and item.idpicklist})
    if len(picklists) < 2:
        return task
    held = {idpicklist: _products(picqer.get_picklist(idpicklist).products) for idpicklist in picklists}
    shipments = tuple(replace(item, products=held.get(item.idpicklist or 0, ())) for item in task.shipments)
    return replace(task, shipments=shipments)


def _products(lines: list[JSONDict]) -> tuple[tuple[str, int], ...]:
    found = []
    for line in lines:
        code = text(line.get("productcode"))
        amount = quantity(line.get("amount"))
        if code and amount > 0:
            found.append((code, amount))
    return tuple(found)


def mark_fulfilment_reported(engine: Engine, *, order_id: int, at: datetime | None = None) -> None:
    """The shop has the fulfilment: the order leaves ``orders_to_fulfil``."""
    with session_scope(engine) as session:
        orders.update_order(session, order_id=order_id, fulfilment_reported_at=at or utcnow())
