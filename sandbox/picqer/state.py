"""The simulator's memory: every record, id counters, and the events raised while a request ran.

One re-entrant lock guards it all: uvicorn runs requests in threads, and each API call holds the lock
for its whole run so it sees and leaves a consistent world.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sandbox.clock import Clock
from sandbox.picqer.errors import not_found
from sandbox.picqer.models import (
    OPEN_PICKLIST_STATUSES,
    Allocation,
    Backorder,
    Customer,
    Hook,
    Order,
    OrderField,
    Picklist,
    Product,
    Shipment,
    Tag,
    VatGroup,
    Warehouse,
)

SubjectKind = Literal["order", "picklist", "shipment"]

# First ids per kind: far apart, so an id of the wrong kind is never found by accident in a test.
FIRST_IDS = {
    "order": 10001,
    "orderid": 1001,
    "order_product": 50001,
    "product": 2001,
    "warehouse": 101,
    "vatgroup": 11,
    "tag": 301,
    "customer": 4001,
    "customer_address": 4501,
    "orderfield": 31,
    "picklist": 70001,
    "picklistid": 1001,
    "picklist_product": 80001,
    "backorder": 90001,
    "shipment": 60001,
    "hook": 501,
    "note": 700001,
}


@dataclass(frozen=True)
class PendingEvent:
    """A webhook event raised inside a request; serialised and signed when the request ends."""

    event: str
    kind: SubjectKind
    subject_id: int
    triggered_at: datetime


class PicqerState:
    def __init__(self, clock: Clock) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.clear()

    def clear(self) -> None:
        self.warehouses: dict[int, Warehouse] = {}
        self.vatgroups: dict[int, VatGroup] = {}
        self.products: dict[int, Product] = {}
        self.tags: dict[int, Tag] = {}
        self.customers: dict[int, Customer] = {}
        self.orderfields: dict[int, OrderField] = {}
        self.orders: dict[int, Order] = {}  # add with add_order(), which keeps the indexes below
        # GET /orders?reference=, ?orderid=, ?sinceid= answered from indexes, not by reading every
        # order (a push looks its order up by reference first: a scan made N pushes cost N²)
        self.order_ids: list[int] = []  # sorted
        self.orders_by_reference: dict[str, set[int]] = {}  # lower-cased reference -> idorders
        self.orders_by_orderid: dict[str, int] = {}
        # picklists, backorders, shipments and products: add with add_picklist() and the others,
        # which keep the indexes below, so that a look-up by order, by (product, warehouse) or by
        # productcode reads what it needs instead of every record (stock was counted by reading
        # every picklist: N orders processed cost N²)
        self.picklists: dict[int, Picklist] = {}
        self.picklist_ids: list[int] = []  # sorted
        self.shipments: dict[int, Shipment] = {}
        self.backorders: dict[int, Backorder] = {}
        self.hooks: dict[int, Hook] = {}
        self._picklists_by_order: dict[int, list[int]] = {}
        # (idproduct, idwarehouse) -> what open picklists hold of it: kept as picklists are added and
        # change status (set_picklist_status), so stock is not a sum over thousands of open picklists
        self._picked: dict[tuple[int, int], int] = {}
        # backorder ids by order and by (idproduct, idwarehouse); a removed backorder is dropped when
        # next met (whoever removed it)
        self._backorders_by_order: dict[int, dict[int, None]] = {}
        self._backorders_by_stock: dict[tuple[int, int], dict[int, None]] = {}
        self._shipments_by_picklist: dict[int, list[int]] = {}
        self._products_by_code: dict[str, int] = {}
        self._allocations: dict[int, list[Allocation]] = {}  # idorder -> what is set aside for it
        self._allocated: dict[tuple[int, int], dict[int, int]] = {}  # (product, warehouse) -> order -> amount
        self._counters: dict[str, int] = {}
        self._events: list[PendingEvent] = []

    def now(self) -> datetime:
        return self.clock.now()

    def next_id(self, kind: str) -> int:
        value = self._counters.get(kind, FIRST_IDS[kind])
        self._counters[kind] = value + 1
        return value

    def add_order(self, order: Order) -> None:
        self.orders[order.idorder] = order
        if not self.order_ids or order.idorder > self.order_ids[-1]:
            self.order_ids.append(order.idorder)  # ids only grow: the usual case
        else:
            bisect.insort(self.order_ids, order.idorder)
        self.orders_by_orderid[order.orderid] = order.idorder
        self._index_reference(order, order.fields.get("reference"))

    def reindex_reference(self, order: Order, previous: object) -> None:
        """After ``order``'s reference changed from ``previous``."""
        listed = self.orders_by_reference.get(_reference_key(previous))
        if listed is not None:
            listed.discard(order.idorder)
        self._index_reference(order, order.fields.get("reference"))

    def _index_reference(self, order: Order, reference: object) -> None:
        self.orders_by_reference.setdefault(_reference_key(reference), set()).add(order.idorder)

    def order_candidates(
        self, *, reference: str | None, orderid: str | None, sinceid: int | None, beforeid: int | None
    ) -> list[Order]:
        """The orders a list filter can hold, by idorder, narrowed by the indexes (the filter still
        runs over them): by reference or orderid, else the idorder range."""
        if reference is not None or orderid is not None:
            ids: set[int] | None = None
            if reference is not None:
                ids = set(self.orders_by_reference.get(_reference_key(reference), ()))
            if orderid is not None:
                found = self.orders_by_orderid.get(orderid)
                by_orderid = {found} if found is not None else set()
                ids = by_orderid if ids is None else ids & by_orderid
            return [self.orders[idorder] for idorder in sorted(ids or ())]
        low = bisect.bisect_right(self.order_ids, sinceid) if sinceid is not None else 0
        high = bisect.bisect_left(self.order_ids, beforeid) if beforeid is not None else len(self.order_ids)
        return [self.orders[idorder] for idorder in self.order_ids[low:high]]

    # Lookups that answer Picqer's 404 when the id is unknown.

    def order(self, idorder: int) -> Order:
        if idorder not in self.orders:
            raise not_found("Order")
        return self.orders[idorder]

    def product(self, idproduct: int) -> Product:
        if idproduct not in self.products:
            raise not_found("Product")
        return self.products[idproduct]

    def picklist(self, idpicklist: int) -> Picklist:
        if idpicklist not in self.picklists:
            raise not_found("Picklist")
        return self.picklists[idpicklist]

    def warehouse(self, idwarehouse: int) -> Warehouse:
        if idwarehouse not in self.warehouses:
            raise not_found("Warehouse")
        return self.warehouses[idwarehouse]

    def tag(self, idtag: int) -> Tag:
        if idtag not in self.tags:
            raise not_found("Tag")
        return self.tags[idtag]

    def customer(self, idcustomer: int) -> Customer:
        if idcustomer not in self.customers:
            raise not_found("Customer")
        return self.customers[idcustomer]

    def hook(self, idhook: int) -> Hook:
        if idhook not in self.hooks:
            raise not_found("Hook")
        return self.hooks[idhook]

    def product_by_code(self, productcode: str) -> Product | None:
        idproduct = self._products_by_code.get(productcode)
        return self.products.get(idproduct) if idproduct is not None else None

    def order_picklists(self, idorder: int) -> list[Picklist]:
        return [self.picklists[idpicklist] for idpicklist in self._picklists_by_order.get(idorder, ())]

    def order_backorders(self, idorder: int) -> list[Backorder]:
        return self._live_backorders(self._backorders_by_order.get(idorder))

    # Records added and removed through these, which keep the indexes.

    def add_product(self, product: Product) -> None:
        self.products[product.idproduct] = product
        self._products_by_code.setdefault(product.productcode, product.idproduct)

    def add_picklist(self, picklist: Picklist) -> None:
        self.picklists[picklist.idpicklist] = picklist
        if not self.picklist_ids or picklist.idpicklist > self.picklist_ids[-1]:
            self.picklist_ids.append(picklist.idpicklist)
        else:
            bisect.insort(self.picklist_ids, picklist.idpicklist)
        self._picklists_by_order.setdefault(picklist.idorder, []).append(picklist.idpicklist)
        if picklist.status in OPEN_PICKLIST_STATUSES:
            self._count_picked(picklist, 1)

    def set_picklist_status(self, picklist: Picklist, status: str) -> None:
        """Every status change of a picklist goes through here: it keeps what open picklists hold."""
        was_open, picklist.status = picklist.status in OPEN_PICKLIST_STATUSES, status
        if was_open != (status in OPEN_PICKLIST_STATUSES):
            self._count_picked(picklist, -1 if was_open else 1)

    def _count_picked(self, picklist: Picklist, sign: int) -> None:
        for line in picklist.lines:
            key = (line.idproduct, picklist.idwarehouse)
            self._picked[key] = self._picked.get(key, 0) + sign * line.amount

    def picked(self, idproduct: int, idwarehouse: int) -> int:
        """What the open picklists hold of ``idproduct`` from ``idwarehouse``."""
        return self._picked.get((idproduct, idwarehouse), 0)

    def picklist_candidates(
        self, *, idorder: int | None, sinceid: int | None, beforeid: int | None
    ) -> list[Picklist]:
        """The picklists a list filter can hold, by idpicklist, narrowed by the indexes (the
        filter still runs over them): the order's, else the idpicklist range."""
        if idorder is not None:
            return sorted(self.order_picklists(idorder), key=lambda picklist: picklist.idpicklist)
        ids = self.picklist_ids
        low = bisect.bisect_right(ids, sinceid) if sinceid is not None else 0
        high = bisect.bisect_left(ids, beforeid) if beforeid is not None else len(ids)
        return [self.picklists[idpicklist] for idpicklist in ids[low:high]]

    def add_backorder(self, backorder: Backorder) -> None:
        self.backorders[backorder.idbackorder] = backorder
        self._backorders_by_order.setdefault(backorder.idorder, {})[backorder.idbackorder] = None
        key = (backorder.idproduct, backorder.idwarehouse)
        self._backorders_by_stock.setdefault(key, {})[backorder.idbackorder] = None

    def remove_backorder(self, idbackorder: int) -> None:
        del self.backorders[idbackorder]  # its index entries go when next met

    def stock_backorders(self, idproduct: int, idwarehouse: int) -> list[Backorder]:
        """The backorders of ``idproduct`` waiting for ``idwarehouse``."""
        return self._live_backorders(self._backorders_by_stock.get((idproduct, idwarehouse)))

    def _live_backorders(self, ids: dict[int, None] | None) -> list[Backorder]:
        if not ids:
            return []
        found = [self.backorders[idbackorder] for idbackorder in ids if idbackorder in self.backorders]
        if len(found) < len(ids):
            for gone in [idbackorder for idbackorder in ids if idbackorder not in self.backorders]:
                del ids[gone]
        return found

    def add_shipment(self, shipment: Shipment) -> None:
        self.shipments[shipment.idshipment] = shipment
        self._shipments_by_picklist.setdefault(shipment.idpicklist, []).append(shipment.idshipment)

    def picklist_shipments(self, idpicklist: int) -> list[Shipment]:
        return [self.shipments[idshipment] for idshipment in self._shipments_by_picklist.get(idpicklist, ())]

    def order_shipments(self, idorder: int) -> list[Shipment]:
        return [
            shipment
            for picklist in self.order_picklists(idorder)
            for shipment in self.picklist_shipments(picklist.idpicklist)
        ]

    def order_allocations(self, idorder: int) -> list[Allocation]:
        return list(self._allocations.get(idorder, ()))

    def set_allocations(self, idorder: int, allocations: list[Allocation]) -> None:
        """What is set aside for ``idorder`` from now on (nothing: an empty list)."""
        for old in self._allocations.pop(idorder, ()):
            held = self._allocated[(old.idproduct, old.idwarehouse)]
            held[idorder] -= old.amount
            if not held[idorder]:
                del held[idorder]
        for new in allocations:
            held = self._allocated.setdefault((new.idproduct, new.idwarehouse), {})
            held[idorder] = held.get(idorder, 0) + new.amount
        if allocations:
            self._allocations[idorder] = list(allocations)

    def allocated(self, idproduct: int, idwarehouse: int, *, except_order: int | None = None) -> int:
        """What allocations set aside of ``idproduct`` in ``idwarehouse`` (but ``except_order``'s)."""
        held = self._allocated.get((idproduct, idwarehouse), {})
        return sum(amount for idorder, amount in held.items() if idorder != except_order)

    def ordered_warehouses(self) -> list[Warehouse]:
        """Warehouses that accept orders, the preferred (lowest priority number) first."""
        usable = [w for w in self.warehouses.values() if w.accept_orders and w.active]
        return sorted(usable, key=lambda w: (w.priority, w.idwarehouse))

    # Events: raised by the rules, collected by the simulator once the request is done.

    def emit(self, event: str, kind: SubjectKind, subject_id: int) -> None:
        self._events.append(PendingEvent(event, kind, subject_id, self.now()))

    def drain_events(self) -> list[PendingEvent]:
        events, self._events = self._events, []
        return events


def _reference_key(reference: object) -> str:
    """References compare without case, as the ``reference`` filter does; None is the empty one."""
    return str(reference or "").lower()
