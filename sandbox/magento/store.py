"""One simulated Magento shop: its orders (in Magento's REST shape) and shipments, and the rules that
change them: invoice, cancel, refund, edit an address, comment, ship.

Rows are stored flat (children point at their parent with ``parent_item_id``); ``render`` adds what
the REST answer repeats: ``parent_item`` on each child and the shipping assignment under
``extension_attributes`` (Magento's only place for the shipping address).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox.clock import Clock
from sandbox.magento.errors import MagentoError
from sandbox.magento.index import OrderIndex

Record = dict[str, Any]
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SHIPPABLE_BLOCKED = frozenset({"holded", "payment_review", "canceled", "complete", "closed"})
FINAL_STATES = frozenset({"canceled", "complete", "closed"})
DEFAULT_ADDRESS: Record = {
    "firstname": "Jan",
    "lastname": "Jansen",
    "street": ["Keizersgracht 1"],
    "city": "Amsterdam",
    "postcode": "1015 CJ",
    "country_id": "NL",
    "region": None,
    "telephone": "+31 20 123 4567",
}


NOT_FOUND = "The entity that was requested doesn't exist. Verify the entity and try again."
SHIP_REFUSED = "Shipment Document Validation Error(s):\n"


def magento_time(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)


@dataclass
class MagentoShop:
    """The orders and shipments of one shop, with Magento's id sequences."""

    name: str
    clock: Clock
    orders: dict[int, Record] = field(default_factory=dict)
    shipping_addresses: dict[int, Record | None] = field(default_factory=dict)
    shipments: dict[int, Record] = field(default_factory=dict)
    _next: dict[str, int] = field(default_factory=dict)
    # the orders by (updated_at, entity_id), kept by create_order and _touch (sandbox/magento/index.py)
    index: OrderIndex = field(default_factory=OrderIndex)

    def _id(self, sequence: str) -> int:
        self._next[sequence] = self._next.get(sequence, 0) + 1
        return self._next[sequence]

    def _now(self) -> str:
        return magento_time(self.clock.now())

    # -- reading -----------------------------------------------------------------------------

    def order(self, order_id: int) -> Record:
        if order_id not in self.orders:
            raise MagentoError(404, NOT_FOUND)
        return self.orders[order_id]

    def render(self, order_id: int) -> Record:
        """The order as ``GET /V1/orders/{id}`` answers it."""
        order = copy.deepcopy(self.order(order_id))
        by_id = {row["item_id"]: row for row in order["items"]}
        for row in order["items"]:
            if row.get("parent_item_id") in by_id:
                row["parent_item"] = copy.deepcopy(by_id[row["parent_item_id"]])
        shipping: Record = {"method": order.pop("_shipping_method"), "total": _shipping_total(order)}
        address = self.shipping_addresses.get(order_id)
        if address is not None:
            shipping["address"] = copy.deepcopy(address)
        order["extension_attributes"] = {
            "shipping_assignments": [{"shipping": shipping, "items": copy.deepcopy(order["items"])}]
        }
        return order

    def rendered_orders(self) -> list[Record]:
        return [self.render(order_id) for order_id in self.orders]

    # -- creating ----------------------------------------------------------------------------

    def create_order(self, spec: Record) -> Record:
        """A new, unpaid order (``new``/``pending``) from a small spec (see the control docs)."""
        return self.render(self._create(spec, self._now()))

    def seed_orders(self, spec: Record, count: int, *, last: datetime, spacing_seconds: float) -> None:
        """``count`` orders from ``spec`` at once, for benchmarks: the last one made at ``last``, each
        earlier one ``spacing_seconds`` before the next (distinct ``updated_at`` values); no copies."""
        for index in range(count):
            self._create(spec, magento_time(last - timedelta(seconds=spacing_seconds * (count - 1 - index))))

    def _create(self, spec: Record, now: str) -> int:
        order_id = self._id("order")
        rows: list[Record] = []
        for item in spec.get("items") or []:
            rows.extend(self._rows(order_id, item, now))
        if not rows:
            raise MagentoError(400, "The order has no items.")
        address = {**DEFAULT_ADDRESS, **(spec.get("address") or {})}
        email = spec.get("customer_email") or "jan.jansen@example.com"
        subtotal = sum(row["row_total"] for row in rows if not row.get("parent_item_id"))
        shipping_amount = float(spec.get("shipping_amount", 5))
        is_virtual = all(row["is_virtual"] for row in rows)
        order: Record = {
            "entity_id": order_id,
            "increment_id": str(spec.get("increment_id") or f"{order_id:09d}"),
            "state": "new",
            "status": "pending",
            "created_at": now,
            "updated_at": now,
            "customer_email": email,
            "customer_firstname": address.get("firstname"),
            "customer_lastname": address.get("lastname"),
            "customer_is_guest": 1,
            "customer_note": spec.get("customer_note"),
            "order_currency_code": "EUR",
            "base_currency_code": "EUR",
            "store_id": 1,
            "is_virtual": int(is_virtual),
            "subtotal": subtotal,
            "shipping_amount": 0 if is_virtual else shipping_amount,
            "grand_total": subtotal + (0 if is_virtual else shipping_amount),
            "total_due": subtotal + (0 if is_virtual else shipping_amount),
            "total_qty_ordered": sum(row["qty_ordered"] for row in rows if not row.get("parent_item_id")),
            "total_item_count": len(rows),
            "shipping_description": "Flat Rate - Fixed",
            "_shipping_method": "flatrate_flatrate",
            "items": rows,
            "billing_address": self._address(
                order_id, {**address, **(spec.get("billing_address") or {})}, "billing", email
            ),
            "payment": {"method": spec.get("payment_method", "checkmo"), "amount_ordered": subtotal},
            "status_histories": [],
        }
        self.orders[order_id] = order
        self.index.update(order)
        has_address = not is_virtual and spec.get("shipping_address", True) is not False
        self.shipping_addresses[order_id] = (
            self._address(order_id, address, "shipping", email) if has_address else None
        )
        if spec.get("comment"):
            self.add_comment(order_id, str(spec["comment"]), visible_on_front=True)
        if spec.get("paid"):
            self.invoice(order_id)
        return order_id

    def _rows(self, order_id: int, item: Record, now: str) -> list[Record]:
        product_type = str(item.get("product_type") or "simple")
        qty = float(item.get("qty", 1))
        if product_type == "bundle":
            parent = self._row(order_id, item, now, product_type, qty, price=0.0)
            children = [
                self._row(order_id, child, now, "simple", qty * float(child.get("qty", 1)), parent=parent)
                for child in item.get("children") or []
            ]
            # the bundle's price is its children's, and its SKU their SKUs joined, as Magento builds it
            per_bundle = [float(child.get("qty", 1)) for child in item.get("children") or []]
            parent["price"] = sum(child["price"] * n for child, n in zip(children, per_bundle, strict=True))
            parent["row_total"] = parent["price"] * qty
            parent["sku"] = item.get("sku") or "-".join(child["sku"] for child in children)
            return [parent, *children]
        if product_type == "configurable":
            parent = self._row(order_id, item, now, product_type, qty, price=float(item.get("price", 0)))
            variant = item.get("child") or {"sku": item.get("sku"), "name": item.get("name")}
            child = self._row(order_id, variant, now, "simple", qty, parent=parent, price=0.0)
            parent["sku"] = child["sku"]  # Magento puts the variant's SKU on the parent row too
            return [parent, child]
        return [self._row(order_id, item, now, product_type, qty, price=float(item.get("price", 0)))]

    def _row(
        self,
        order_id: int,
        item: Record,
        now: str,
        product_type: str,
        qty: float,
        *,
        parent: Record | None = None,
        price: float | None = None,
    ) -> Record:
        item_id = self._id("item")
        price = float(item.get("price", 0)) if price is None else price
        row: Record = {
            "item_id": item_id,
            "order_id": order_id,
            "quote_item_id": item_id,
            "product_id": 1000 + item_id,
            "product_type": product_type,
            "sku": item.get("sku"),
            "name": item.get("name") or item.get("sku"),
            "price": price,
            "base_price": price,
            "original_price": price,
            "price_incl_tax": price,
            "row_total": price * qty,
            "qty_ordered": qty,
            "qty_invoiced": 0,
            "qty_canceled": 0,
            "qty_refunded": 0,
            "qty_shipped": 0,
            "is_virtual": int(product_type in ("virtual", "downloadable")),
            "is_qty_decimal": 0,
            "tax_amount": 0,
            "tax_percent": 0,
            "discount_amount": 0,
            "weight": float(item.get("weight", 1)),
            "store_id": 1,
            "created_at": now,
            "updated_at": now,
        }
        if parent is not None:
            row["parent_item_id"] = parent["item_id"]
        return row

    def _address(self, order_id: int, address: Record, kind: str, email: str) -> Record:
        street = address.get("street") or []
        return {
            **address,
            "street": [street] if isinstance(street, str) else list(street),
            "address_type": kind,
            "entity_id": self._id("address"),
            "parent_id": order_id,
            "email": address.get("email") or email,
        }

    # -- changing ----------------------------------------------------------------------------

    def _touch(self, order: Record, state: str | None = None, status: str | None = None) -> None:
        if state is not None:
            order["state"] = state
            order["status"] = status or state
        order["updated_at"] = self._now()
        self.index.update(order)

    def invoice(self, order_id: int) -> Record:
        """Capture the payment: the order becomes ``processing``, as Magento does after an invoice."""
        order = self.order(order_id)
        if order["state"] in FINAL_STATES | {"holded"} or order["total_due"] == 0:
            raise MagentoError(400, "The order does not allow an invoice to be created.")
        for row in order["items"]:
            row["qty_invoiced"] = row["qty_ordered"]
        order["total_paid"] = order["grand_total"]
        order["total_due"] = 0
        self._touch(order, "processing")
        return self.render(order_id)

    def cancel(self, order_id: int) -> Record:
        order = self.order(order_id)
        if order["state"] in FINAL_STATES:
            raise MagentoError(400, "You cannot cancel this order.")
        for row in order["items"]:
            row["qty_canceled"] = max(0.0, row["qty_ordered"] - row["qty_shipped"] - row["qty_refunded"])
        self._touch(order, "canceled")
        return self.render(order_id)

    def refund(self, order_id: int, items: list[Record]) -> Record:
        """Refund quantities of rows (a configurable's child follows its parent); all refunded -> closed."""
        order = self.order(order_id)
        rows = {row["item_id"]: row for row in order["items"]}
        for item in items:
            row = rows.get(int(item.get("order_item_id", 0)))
            if row is None:
                raise MagentoError(
                    400, 'The "%1" order item doesn\'t exist.', [str(item.get("order_item_id"))]
                )
            qty = float(item.get("qty", 0))
            if qty <= 0 or row["qty_refunded"] + qty > row["qty_ordered"] - row["qty_canceled"]:
                raise MagentoError(400, "The most money available to refund is %1.", [str(row["price"])])
            for target in [row, *self._children(order, row)]:
                target["qty_refunded"] += qty * target["qty_ordered"] / row["qty_ordered"]
        if all(row["qty_refunded"] + row["qty_canceled"] >= row["qty_ordered"] for row in order["items"]):
            self._touch(order, "closed")
        else:
            self._touch(order)
        return self.render(order_id)

    def edit_address(self, order_id: int, *, shipping: Record | None, billing: Record | None) -> Record:
        order = self.order(order_id)
        if shipping:
            current = self.shipping_addresses.get(order_id)
            if current is None:
                raise MagentoError(400, "The order has no shipping address.")
            current.update(shipping)
        if billing:
            order["billing_address"].update(billing)
        self._touch(order)
        return self.render(order_id)

    def add_comment(self, order_id: int, comment: str, *, visible_on_front: bool) -> Record:
        order = self.order(order_id)
        entry = {
            "entity_id": self._id("history"),
            "parent_id": order_id,
            "comment": comment,
            "is_visible_on_front": int(visible_on_front),
            "is_customer_notified": 0,
            "status": order["status"],
            "entity_name": "order",
            "created_at": self._now(),
        }
        order["status_histories"].insert(0, entry)  # newest first, as Magento lists them
        self._touch(order)
        return self.render(order_id)

    def ship(self, order_id: int, body: Record) -> int:
        """``POST /V1/order/{id}/ship``: the shipment id; children follow their parent row."""
        order = self.order(order_id)
        if order["state"] in SHIPPABLE_BLOCKED:
            raise MagentoError(400, SHIP_REFUSED + "The order does not allow a shipment to be created.")
        rows = {row["item_id"]: row for row in order["items"]}
        wanted = self._wanted_quantities(order, rows, body.get("items") or [])
        if not wanted:
            raise MagentoError(400, SHIP_REFUSED + "You can't create a shipment without products.")
        tracks = body.get("tracks") or []
        for track in tracks:
            if not isinstance(track, dict) or not track.get("track_number") or not track.get("carrier_code"):
                raise MagentoError(400, SHIP_REFUSED + "Please enter a tracking number and carrier code.")
        shipment_id = self._id("shipment")
        now = self._now()
        shipment_items = []
        for item_id, qty in wanted.items():
            row = rows[item_id]
            for target in [row, *self._children(order, row)]:
                target["qty_shipped"] += qty * target["qty_ordered"] / row["qty_ordered"]
            shipment_items.append(
                {
                    "entity_id": self._id("shipment_item"),
                    "parent_id": shipment_id,
                    "order_item_id": item_id,
                    "sku": row["sku"],
                    "name": row["name"],
                    "qty": qty,
                    "price": row["price"],
                    "product_id": row["product_id"],
                }
            )
        self.shipments[shipment_id] = {
            "entity_id": shipment_id,
            "increment_id": f"{shipment_id:09d}",
            "order_id": order_id,
            "store_id": 1,
            "created_at": now,
            "updated_at": now,
            "total_qty": sum(wanted.values()),
            "email_sent": int(bool(body.get("notify"))),
            "items": shipment_items,
            "tracks": [
                {
                    "entity_id": self._id("track"),
                    "parent_id": shipment_id,
                    "order_id": order_id,
                    "track_number": str(track["track_number"]),
                    "title": str(track.get("title") or ""),
                    "carrier_code": str(track["carrier_code"]),
                    "created_at": now,
                    "updated_at": now,
                }
                for track in tracks
            ],
            "comments": [],
        }
        comment = body.get("comment")
        if body.get("appendComment") and isinstance(comment, dict) and comment.get("comment"):
            self.shipments[shipment_id]["comments"].append({"comment": str(comment["comment"])})
        self._after_shipment(order)
        return shipment_id

    def _wanted_quantities(
        self, order: Record, rows: dict[int, Record], items: list[Any]
    ) -> dict[int, float]:
        """Order item id -> qty to ship; no items means everything left. A configurable's child named
        instead of its parent ships the parent (the Adobe tutorial names the child)."""
        if not items:
            return {
                row["item_id"]: left
                for row in order["items"]
                if not row.get("parent_item_id") and not row["is_virtual"] and (left := _left(row)) > 0
            }
        wanted: dict[int, float] = {}
        for item in items:
            row = rows.get(int(item.get("order_item_id", 0))) if isinstance(item, dict) else None
            if row is None:
                raise MagentoError(400, SHIP_REFUSED + "The order item %1 doesn't exist.", [str(item)])
            parent = rows.get(row.get("parent_item_id", 0))
            if parent is not None:
                if parent["product_type"] != "configurable":
                    continue  # bundle children ship with their parent (bundles ship together by default)
                row = parent
            if row["is_virtual"]:
                continue
            qty = float(item.get("qty", 0))
            total = wanted.get(row["item_id"], 0.0) + qty
            if qty <= 0 or total > _left(row) + 1e-9:
                raise MagentoError(
                    400,
                    SHIP_REFUSED + "The quantity to ship must not be greater than the unshipped quantity.",
                )
            wanted[row["item_id"]] = total
        return wanted

    def _after_shipment(self, order: Record) -> None:
        everything_shipped = all(_left(row) <= 0 for row in order["items"] if not row["is_virtual"])
        if everything_shipped and order["total_due"] == 0:
            self._touch(order, "complete")
        elif order["state"] == "new":
            self._touch(order, "processing")
        else:
            self._touch(order)

    @staticmethod
    def _children(order: Record, parent: Record) -> list[Record]:
        return [row for row in order["items"] if row.get("parent_item_id") == parent["item_id"]]


def _left(row: Record) -> float:
    return float(row["qty_ordered"] - row["qty_canceled"] - row["qty_refunded"] - row["qty_shipped"])


def _shipping_total(order: Record) -> Record:
    amount = order.get("shipping_amount", 0)
    return {"shipping_amount": amount, "base_shipping_amount": amount, "shipping_incl_tax": amount}
