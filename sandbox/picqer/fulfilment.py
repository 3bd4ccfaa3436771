"""Picklists closing, shipments with tracking, and the order completing once everything has gone."""

from __future__ import annotations

from typing import Any

from sandbox.picqer.errors import CANNOT_CREATE_SHIPMENT, PicqerError, wrong_status
from sandbox.picqer.lifecycle import set_status
from sandbox.picqer.models import (
    COMPLETED,
    PAUSED,
    PICKLIST_CANCELLED,
    PICKLIST_CLOSED,
    PICKLIST_NEW,
    PROCESSING,
    Order,
    Picklist,
    Shipment,
)
from sandbox.picqer.state import PicqerState

DEFAULT_PROVIDER = "PostNL"
TRACKING_URL = "https://jouw.postnl.nl/track-and-trace/{code}-NL"


def close_picklist(state: PicqerState, picklist: Picklist) -> None:
    """Picked and packed: the products leave the warehouse stock and stop being reserved."""
    if picklist.status != PICKLIST_NEW:
        raise wrong_status(f"Picklist cannot be closed, its status is '{picklist.status}'")
    for line in picklist.lines:
        product = state.products[line.idproduct]
        product.stock[picklist.idwarehouse] = max(0, product.stock.get(picklist.idwarehouse, 0) - line.amount)
        line.amount_picked = line.amount
    now = state.now()
    state.set_picklist_status(picklist, PICKLIST_CLOSED)
    picklist.closed_at = now
    picklist.updated = now
    state.emit("picklists.closed", "picklist", picklist.idpicklist)
    complete_if_done(state, state.orders[picklist.idorder])


def create_shipment(state: PicqerState, picklist: Picklist, body: dict[str, Any]) -> Shipment:
    """A shipment (with a tracking code) for a picklist; an open picklist is closed with it."""
    if picklist.status not in (PICKLIST_NEW, PICKLIST_CLOSED):
        raise PicqerError(
            400, CANNOT_CREATE_SHIPMENT, f"Cannot create shipment for a {picklist.status} picklist"
        )
    idshipment = state.next_id("shipment")
    code = body.get("trackingcode")
    trackingcode = code if isinstance(code, str) and code else f"3SPICQ{idshipment:09d}"
    provider = body.get("provider")
    shipment = Shipment(
        idshipment=idshipment,
        idpicklist=picklist.idpicklist,
        idorder=picklist.idorder,
        provider=provider if isinstance(provider, str) and provider else DEFAULT_PROVIDER,
        trackingcode=trackingcode,
        trackingurl=TRACKING_URL.format(code=trackingcode),
        created=state.now(),
        weight=sum(state.products[line.idproduct].weight * line.amount for line in picklist.lines),
    )
    state.add_shipment(shipment)
    state.emit("picklists.shipments.created", "shipment", idshipment)
    if picklist.status == PICKLIST_NEW:
        close_picklist(state, picklist)
    return shipment


def ship_order(state: PicqerState, order: Order, body: dict[str, Any]) -> list[Shipment]:
    """The warehouse at work (sandbox control): ship every open picklist of the order."""
    if order.status == PAUSED:
        raise wrong_status("A paused order cannot be shipped; resume it first")
    open_picklists = [p for p in state.order_picklists(order.idorder) if p.status == PICKLIST_NEW]
    if not open_picklists:
        raise wrong_status("Order has no open picklists to ship")
    return [create_shipment(state, picklist, body) for picklist in open_picklists]


def complete_if_done(state: PicqerState, order: Order) -> None:
    """Completed once every picklist is closed and no backorder is left (Orders doc: all shipped)."""
    if order.status != PROCESSING or state.order_backorders(order.idorder):
        return
    picklists = [p for p in state.order_picklists(order.idorder) if p.status != PICKLIST_CANCELLED]
    if picklists and all(p.status == PICKLIST_CLOSED for p in picklists):
        set_status(state, order, COMPLETED)
        state.emit("orders.completed", "order", order.idorder)
