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
        self.picklists: dict[int, Picklist] = {}
        self.shipments: dict[int, Shipment] = {}
        self.backorders: dict[int, Backorder] = {}
        self.allocations: list[Allocation] = []
        self.hooks: dict[int, Hook] = {}
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
        return next((p for p in self.products.values() if p.productcode == productcode), None)

    def order_picklists(self, idorder: int) -> list[Picklist]:
        return [p for p in self.picklists.values() if p.idorder == idorder]

    def order_backorders(self, idorder: int) -> list[Backorder]:
        return [b for b in self.backorders.values() if b.idorder == idorder]

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
