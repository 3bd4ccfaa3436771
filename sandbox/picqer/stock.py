"""Stock per product and warehouse, and what is reserved from it.

Reservations are derived from the records (open picklists, backorders, allocations) rather than
stored counters, so they can never drift from what the orders say.
"""

from __future__ import annotations

from typing import Any

from sandbox.picqer.errors import invalid, missing
from sandbox.picqer.models import Backorder, Product
from sandbox.picqer.state import PicqerState


def reserved_picklists(state: PicqerState, idproduct: int, idwarehouse: int) -> int:
    return state.picked(idproduct, idwarehouse)


def reserved_backorders(
    state: PicqerState, idproduct: int, idwarehouse: int, *, before: Backorder | None = None
) -> int:
    """Backordered amounts; with ``before``, only those served ahead of it (priority, then age)."""
    rows = state.stock_backorders(idproduct, idwarehouse)
    if before is not None:
        rank = (before.priority, before.idbackorder)
        rows = [b for b in rows if b.idorder != before.idorder and (b.priority, b.idbackorder) < rank]
    return sum(b.amount for b in rows)


def reserved_allocations(
    state: PicqerState, idproduct: int, idwarehouse: int, *, except_order: int | None = None
) -> int:
    return state.allocated(idproduct, idwarehouse, except_order=except_order)


def free_stock(state: PicqerState, idproduct: int, idwarehouse: int, *, for_order: int | None = None) -> int:
    """What a new claim may take: stock minus every reservation (but the order's own allocation)."""
    product = state.products[idproduct]
    taken = (
        reserved_picklists(state, idproduct, idwarehouse)
        + reserved_backorders(state, idproduct, idwarehouse)
        + reserved_allocations(state, idproduct, idwarehouse, except_order=for_order)
    )
    return product.stock.get(idwarehouse, 0) - taken


def available_for_backorder(state: PicqerState, backorder: Backorder) -> int:
    """Stock a backorder may turn into a picklist: only backorders ranked before it come first."""
    product = state.products[backorder.idproduct]
    wh = backorder.idwarehouse
    taken = (
        reserved_picklists(state, backorder.idproduct, wh)
        + reserved_allocations(state, backorder.idproduct, wh, except_order=backorder.idorder)
        + reserved_backorders(state, backorder.idproduct, wh, before=backorder)
    )
    return max(0, product.stock.get(wh, 0) - taken)


def stock_row(state: PicqerState, product: Product, idwarehouse: int) -> dict[str, Any]:
    picklists = reserved_picklists(state, product.idproduct, idwarehouse)
    backorders = reserved_backorders(state, product.idproduct, idwarehouse)
    allocations = reserved_allocations(state, product.idproduct, idwarehouse)
    stock = product.stock.get(idwarehouse, 0)
    reserved = picklists + backorders + allocations
    return {
        "idwarehouse": idwarehouse,
        "stock": stock,
        "reserved": reserved,
        "reservedbackorders": backorders,
        "reservedpicklists": picklists,
        "reservedallocations": allocations,
        "freestock": stock - reserved,
    }


def stock_rows(state: PicqerState, product: Product) -> list[dict[str, Any]]:
    return [stock_row(state, product, idwarehouse) for idwarehouse in sorted(state.warehouses)]


def change_stock(state: PicqerState, product: Product, idwarehouse: int, body: dict[str, Any]) -> None:
    """``{"change": n}`` adds, ``{"amount": n}`` sets; never below zero or what picklists hold."""
    state.warehouse(idwarehouse)
    current = product.stock.get(idwarehouse, 0)
    if isinstance(body.get("change"), int) and not isinstance(body.get("change"), bool):
        new = current + body["change"]
    elif isinstance(body.get("amount"), int) and not isinstance(body.get("amount"), bool):
        new = body["amount"]
    else:
        raise missing("change or amount")
    if new < 0 or new < reserved_picklists(state, product.idproduct, idwarehouse):
        raise invalid("Stock cannot be negative or lower than is reserved for picklists")
    product.stock[idwarehouse] = new
