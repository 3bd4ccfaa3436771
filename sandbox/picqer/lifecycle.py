"""Order statuses and their transitions, each with the Orders doc's "only when ..." rule.

Processing runs synchronously here (Picqer does it in the background a moment later): it turns the
order's open lines into picklists where stock suffices and backorders where it does not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from sandbox.picqer.errors import MISSING_PRODUCTS, PicqerError, invalid, missing, wrong_status
from sandbox.picqer.models import (
    ADDRESS_PARTS,
    CANCELLED,
    CONCEPT,
    EXPECTED,
    OPEN_PICKLIST_STATUSES,
    PAUSED,
    PICKLIST_CANCELLED,
    PICKLIST_NEW,
    PICKLIST_PAUSED,
    PROCESSING,
    Allocation,
    Backorder,
    Order,
    OrderLine,
    Picklist,
    PicklistLine,
)
from sandbox.picqer.orders import touch
from sandbox.picqer.state import PicqerState
from sandbox.picqer.stock import available_for_backorder, free_stock

ANONYMIZE_AFTER = timedelta(days=7)
DEFAULT_BACKORDER_PRIORITY = 1
PRIORITISED = 0

Claim = tuple[OrderLine, int]
OrderAction = Callable[[PicqerState, Order], None]


def set_status(state: PicqerState, order: Order, status: str) -> None:
    """Every status change is an ``orders.status_changed`` event."""
    touch(state, order)
    if order.status != status:
        order.status = status
        state.emit("orders.status_changed", "order", order.idorder)


def process(state: PicqerState, order: Order) -> None:
    if order.status not in (CONCEPT, EXPECTED):
        raise wrong_status("Only orders with status 'concept' or 'expected' can be processed")
    if not any(line.open_amount > 0 for line in order.lines):
        raise PicqerError(400, MISSING_PRODUCTS, "Order is missing products")
    warehouses = _order_warehouses(state, order)
    # An allocation held for this concept order becomes the real claim now.
    state.set_allocations(order.idorder, [])
    claims = [(line, line.open_amount) for line in order.lines if line.open_amount > 0]
    picks, short = _plan(state, order, claims, warehouses, split=bool(order.fields["partialdelivery"]))
    for idwarehouse, items in picks.items():
        create_picklist(state, order, idwarehouse, items)
    for line, amount in short:
        _add_backorder(state, order, line, amount, warehouses[0])
    set_status(state, order, PROCESSING)
    state.emit("orders.closed", "order", order.idorder)


def _order_warehouses(state: PicqerState, order: Order) -> list[int]:
    ranked = [w.idwarehouse for w in state.ordered_warehouses() if w.idwarehouse in order.warehouses]
    if not ranked:
        raise invalid("None of the order's warehouses accepts orders")
    return ranked


def _plan(
    state: PicqerState, order: Order, claims: list[Claim], warehouses: list[int], *, split: bool
) -> tuple[dict[int, list[Claim]], list[Claim]]:
    """One picklist from the first warehouse that holds everything; otherwise AutoSplit (partial
    delivery) picks what is there now, warehouse by warehouse, and backorders the rest, while
    without it everything waits as backorders until one warehouse can send it all."""
    available = {
        (line.idproduct, wh): free_stock(state, line.idproduct, wh, for_order=order.idorder)
        for line, _ in claims
        for wh in warehouses
    }
    needed: dict[int, int] = defaultdict(int)
    for line, amount in claims:
        needed[line.idproduct] += amount
    for wh in warehouses:
        if all(available[(idproduct, wh)] >= amount for idproduct, amount in needed.items()):
            return {wh: claims}, []
    if not split:
        return {}, claims
    picks: dict[int, list[Claim]] = defaultdict(list)
    short: list[Claim] = []
    for line, amount in claims:
        remaining = amount
        for wh in warehouses:
            take = min(remaining, max(0, available[(line.idproduct, wh)]))
            if take:
                picks[wh].append((line, take))
                available[(line.idproduct, wh)] -= take
                remaining -= take
        if remaining:
            short.append((line, remaining))
    return dict(picks), short


def create_picklist(state: PicqerState, order: Order, idwarehouse: int, items: list[Claim]) -> Picklist:
    now = state.now()
    idpicklist = state.next_id("picklist")
    picklist = Picklist(
        idpicklist=idpicklist,
        picklistid=f"P{now.year}-{state.next_id('picklistid')}",
        idorder=order.idorder,
        idwarehouse=idwarehouse,
        # New picklists of a paused order are paused too (Orders doc, "Pause order").
        status=PICKLIST_PAUSED if order.status == PAUSED else PICKLIST_NEW,
        created=now,
        updated=now,
        lines=[
            PicklistLine(
                idpicklist_product=state.next_id("picklist_product"),
                idorder_product=line.idorder_product,
                idproduct=line.idproduct,
                productcode=line.productcode,
                name=line.name,
                amount=amount,
            )
            for line, amount in items
        ],
    )
    state.add_picklist(picklist)
    state.emit("picklists.created", "picklist", idpicklist)
    return picklist


def _add_backorder(state: PicqerState, order: Order, line: OrderLine, amount: int, idwarehouse: int) -> None:
    idbackorder = state.next_id("backorder")
    state.add_backorder(
        Backorder(
            idbackorder=idbackorder,
            idorder=order.idorder,
            idorder_product=line.idorder_product,
            idproduct=line.idproduct,
            idwarehouse=idwarehouse,
            amount=amount,
            priority=DEFAULT_BACKORDER_PRIORITY,
            created_at=state.now(),
        )
    )


def _drop_backorders(state: PicqerState, order: Order) -> None:
    for backorder in state.order_backorders(order.idorder):
        state.remove_backorder(backorder.idbackorder)


def _set_picklists(state: PicqerState, order: Order, old: str, new: str, event: str) -> None:
    for picklist in state.order_picklists(order.idorder):
        if picklist.status == old:
            state.set_picklist_status(picklist, new)
            picklist.updated = state.now()
            state.emit(event, "picklist", picklist.idpicklist)


def pause(state: PicqerState, order: Order, reason: object) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise missing("reason")
    if order.status != PROCESSING:
        raise wrong_status("Only orders with status 'processing' can be paused")
    _set_picklists(state, order, PICKLIST_NEW, PICKLIST_PAUSED, "picklists.paused")
    set_status(state, order, PAUSED)
    state.emit("orders.paused", "order", order.idorder)


def resume(state: PicqerState, order: Order) -> None:
    if order.status != PAUSED:
        raise wrong_status("Only orders with status 'paused' can be resumed")
    _set_picklists(state, order, PICKLIST_PAUSED, PICKLIST_NEW, "picklists.resumed")
    set_status(state, order, PROCESSING)
    state.emit("orders.resumed", "order", order.idorder)


def reopen(state: PicqerState, order: Order) -> None:
    live = [p for p in state.order_picklists(order.idorder) if p.status != PICKLIST_CANCELLED]
    if order.status != PROCESSING or live:
        raise wrong_status("Only orders with status 'processing' without picklists can be reopened")
    _drop_backorders(state, order)
    set_status(state, order, CONCEPT)


def cancel(state: PicqerState, order: Order, *, force: bool) -> None:
    """Concept and expected orders cancel; ``force`` cancels any other and removes open picklists."""
    if order.status == CANCELLED or (not force and order.status not in (CONCEPT, EXPECTED)):
        raise wrong_status("Only orders with status 'concept' or 'expected' can be cancelled")
    if force:
        for picklist in state.order_picklists(order.idorder):
            if picklist.status in OPEN_PICKLIST_STATUSES:
                state.set_picklist_status(picklist, PICKLIST_CANCELLED)
                picklist.updated = state.now()
                state.emit("picklists.cancelled", "picklist", picklist.idpicklist)
    _drop_backorders(state, order)
    state.set_allocations(order.idorder, [])
    set_status(state, order, CANCELLED)


def undo_cancellation(state: PicqerState, order: Order) -> None:
    if order.status != CANCELLED:
        raise wrong_status("Only orders with status 'cancelled' can be used for undo cancellation")
    set_status(state, order, CONCEPT)


def allocate(state: PicqerState, order: Order) -> None:
    """Set free stock aside for a concept order, as far as there is free stock."""
    if order.status != CONCEPT:
        raise wrong_status("Only orders with status 'concept' can be allocated")
    warehouses = _order_warehouses(state, order)
    state.set_allocations(order.idorder, [])
    for line in order.lines:
        remaining = line.open_amount
        for wh in warehouses:
            take = min(remaining, max(0, free_stock(state, line.idproduct, wh, for_order=order.idorder)))
            if take:
                # set one line at a time: the next line's free stock counts what this one took
                taken = Allocation(order.idorder, line.idorder_product, line.idproduct, wh, take)
                state.set_allocations(order.idorder, [*state.order_allocations(order.idorder), taken])
                remaining -= take
    touch(state, order)
    state.emit("orders.allocated", "order", order.idorder)


def deallocate(state: PicqerState, order: Order) -> None:
    if order.status != CONCEPT:
        raise wrong_status("Only orders with status 'concept' can be deallocated")
    state.set_allocations(order.idorder, [])
    touch(state, order)


def prioritise(state: PicqerState, order: Order) -> None:
    if order.status not in (PROCESSING, PAUSED):
        raise wrong_status("Only orders with backorders can be prioritised")
    for backorder in state.order_backorders(order.idorder):
        backorder.priority = PRIORITISED
    touch(state, order)


def process_backorders(state: PicqerState, order: Order) -> None:
    """Turn what is now in stock of the order's backorders into picklists (AutoSplit bypassed)."""
    if order.status not in (PROCESSING, PAUSED):
        raise wrong_status("Only orders with status 'processing' or 'paused' have backorders to process")
    warehouses = _order_warehouses(state, order)
    lines = {line.idorder_product: line for line in order.lines}
    planned: dict[tuple[int, int], int] = defaultdict(int)
    picks: dict[int, list[Claim]] = defaultdict(list)
    for backorder in sorted(state.order_backorders(order.idorder), key=lambda b: b.idbackorder):
        for wh in [backorder.idwarehouse, *(w for w in warehouses if w != backorder.idwarehouse)]:
            here = available_for_backorder(state, replace(backorder, idwarehouse=wh))
            take = min(backorder.amount, here - planned[(backorder.idproduct, wh)])
            if take > 0:
                planned[(backorder.idproduct, wh)] += take
                picks[wh].append((lines[backorder.idorder_product], take))
                backorder.amount -= take
        if backorder.amount == 0:
            state.remove_backorder(backorder.idbackorder)
    for wh, items in picks.items():
        create_picklist(state, order, wh, items)
    touch(state, order)


def process_all_backorders(state: PicqerState) -> None:
    """``POST /backorders/process``: every order's backorders, prioritised ones first."""
    ranked = sorted(state.backorders.values(), key=lambda b: (b.priority, b.idbackorder))
    for idorder in dict.fromkeys(b.idorder for b in ranked):
        process_backorders(state, state.orders[idorder])


def anonymize(state: PicqerState, order: Order) -> None:
    if state.now() - order.created < ANONYMIZE_AFTER:
        raise wrong_status("Only orders older than 7 days can be anonymized")
    for prefix in ("delivery", "invoice"):
        for part in ADDRESS_PARTS:
            if part != "country":
                order.fields[f"{prefix}{part}"] = None
        order.fields[f"{prefix}name"] = "Anonymous"
    order.fields["telephone"] = None
    order.fields["emailaddress"] = None
    idcustomer = order.fields["idcustomer"]
    if idcustomer is not None:
        state.customers.pop(idcustomer, None)
    for shipment in state.order_shipments(order.idorder):
        shipment.trackingurl = None
    touch(state, order)
