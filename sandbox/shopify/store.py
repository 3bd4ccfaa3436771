"""The merchant's changes to a store's orders, in Shopify's REST shape: create, pay, edit, refund, cancel.

Functions here change a ``ShopState`` and return the webhook topics the change fires; the
simulator holds the lock and sends the webhooks. Each change moves an order's ``updated_at``
forward by at least a second, so two changes are never indistinguishable to a client that
compares ``updated_at``.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from sandbox.shopify.errors import StoreError
from sandbox.shopify.state import FIRST_ORDER_NUMBER, OrderRecord, ShopState, new_id, render_time

LOCATION_ID = 24826418
UNPAID_STATUSES = ("pending", "authorized", "partially_paid")


def touch(record: OrderRecord, now: datetime) -> None:
    """Move ``updated_at`` to now, and always at least one second past its previous value."""
    moment = max(now.replace(microsecond=0), record.updated + timedelta(seconds=1))
    record.move_to(moment)
    record.data["updated_at"] = render_time(moment)


# -- creating --------------------------------------------------------------------------------


def _line(spec: dict[str, Any]) -> dict[str, Any]:
    quantity = int(spec.get("quantity", 1))
    title = spec.get("title") or spec.get("sku") or "Product"
    variant_title = spec.get("variant_title")
    line = {
        "id": new_id(),
        "admin_graphql_api_id": "",
        "fulfillable_quantity": quantity,
        "fulfillment_service": "manual",
        "fulfillment_status": None,
        "gift_card": False,
        "grams": 200,
        "name": f"{title} - {variant_title}" if variant_title else title,
        "price": f"{float(spec.get('price', '10.00')):.2f}",
        "product_exists": True,
        "product_id": new_id(),
        "properties": [],
        "quantity": quantity,
        "current_quantity": quantity,
        "requires_shipping": True,
        "sku": spec.get("sku", ""),
        "taxable": True,
        "title": title,
        "variant_id": new_id(),
        "variant_inventory_management": "shopify",
        "variant_title": variant_title,
        "vendor": None,
    }
    line.update({key: value for key, value in spec.items() if key not in ("id",)})
    line["admin_graphql_api_id"] = f"gid://shopify/LineItem/{line['id']}"
    line.setdefault("current_quantity", line["quantity"])
    line["fulfillable_quantity"] = int(line["current_quantity"])
    return line


def _address(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    if spec is None:
        return None
    address = {
        "first_name": None,
        "last_name": None,
        "company": None,
        "address1": None,
        "address2": "",
        "city": None,
        "zip": None,
        "province": None,
        "province_code": None,
        "country": None,
        "country_code": None,
        "phone": None,
        "latitude": None,
        "longitude": None,
        **spec,
    }
    if not address.get("name"):
        address["name"] = " ".join(p for p in (address["first_name"], address["last_name"]) if p)
    return address


def create_order(state: ShopState, spec: dict[str, Any], now: datetime) -> tuple[OrderRecord, list[str]]:
    """A new order from ``spec`` (the fields of a REST order; line_items as sku/quantity/price)."""
    spec = copy.deepcopy(spec)
    financial = spec.pop("financial_status", "paid")
    if financial not in (*UNPAID_STATUSES, "paid"):
        raise StoreError(422, {"financial_status": [f"{financial!r} is not pending, authorized or paid"]})
    lines = [_line(item) for item in spec.pop("line_items", None) or []]
    if not lines:
        raise StoreError(422, {"line_items": ["must have at least one line item"]})
    shipping = _address(spec.pop("shipping_address", None))
    billing = _address(spec.pop("billing_address", None)) or copy.deepcopy(shipping)
    order_id = new_id()
    number = state.next_number
    state.next_number += 1
    stamp = render_time(now.replace(microsecond=0))
    total = sum(float(line["price"]) * line["quantity"] for line in lines)
    email = spec.get("email", "customer@example.com")
    data: dict[str, Any] = {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{number}",
        "number": number - FIRST_ORDER_NUMBER + 1,
        "order_number": number,
        "confirmation_number": f"SBX{order_id % 1_000_000:06d}",
        "email": email,
        "contact_email": email,
        "phone": None,
        "created_at": stamp,
        "updated_at": stamp,
        "processed_at": stamp,
        "cancelled_at": None,
        "cancel_reason": None,
        "closed_at": None,
        "confirmed": True,
        "test": False,
        "currency": "EUR",
        "presentment_currency": "EUR",
        "financial_status": financial,
        "fulfillment_status": None,
        "total_price": f"{total:.2f}",
        "subtotal_price": f"{total:.2f}",
        "total_line_items_price": f"{total:.2f}",
        "total_tax": "0.00",
        "taxes_included": True,
        "total_discounts": "0.00",
        "note": None,
        "note_attributes": [],
        "tags": "",
        "customer_locale": "en",
        "source_name": "web",
        "line_items": lines,
        "shipping_lines": [{"code": "Standard", "price": "0.00", "source": "shopify", "title": "Standard"}],
        "shipping_address": shipping,
        "billing_address": billing,
        "customer": {
            "id": new_id(),
            "email": email,
            "first_name": (shipping or {}).get("first_name"),
            "last_name": (shipping or {}).get("last_name"),
            "phone": None,
        },
        "fulfillments": [],
        "refunds": [],
    }
    data.update({key: value for key, value in spec.items() if key not in ("id", "name", "order_number")})
    record = OrderRecord(
        data=data,
        updated=now.replace(microsecond=0),
        fulfillment_order_id=new_id(),
        fulfillment_line_ids={line["id"]: new_id() for line in lines},
    )
    state.add_order(record)
    return record, ["orders/create", *(["orders/paid"] if financial == "paid" else [])]


def import_order(state: ShopState, data: dict[str, Any]) -> OrderRecord:
    """Keep ``data`` (a REST order from elsewhere, e.g. a published sample) as the store's own.

    Only what the store needs beside it is filled in: ``updated_at`` (when absent), and each line's
    ``current_quantity`` and ``fulfillable_quantity`` when the payload predates them.
    """
    order = data["order"] if isinstance(data.get("order"), dict) else data
    order.setdefault("id", new_id())
    order.setdefault("created_at", render_time(datetime.now().astimezone()))
    order.setdefault("updated_at", order["created_at"])
    order.setdefault("fulfillments", [])
    order.setdefault("refunds", [])
    for key in ("cancelled_at", "closed_at", "fulfillment_status"):
        order.setdefault(key, None)
    for line in order.get("line_items") or []:
        line.setdefault("current_quantity", line.get("quantity", 0))
        if line.get("fulfillable_quantity") is None:
            line["fulfillable_quantity"] = line["current_quantity"]
    updated = datetime.fromisoformat(order["updated_at"])
    record = OrderRecord(
        data=order,
        updated=updated,
        fulfillment_order_id=new_id(),
        fulfillment_line_ids={line["id"]: new_id() for line in order.get("line_items") or []},
    )
    state.add_order(record)
    return record


# -- merchant changes ------------------------------------------------------------------------


def _open(record: OrderRecord) -> None:
    if record.data["cancelled_at"]:
        raise StoreError(422, {"base": ["Order has been cancelled"]})


def pay(record: OrderRecord, now: datetime) -> list[str]:
    _open(record)
    if record.data["financial_status"] not in UNPAID_STATUSES:
        raise StoreError(422, {"base": [f"Order is {record.data['financial_status']}, not awaiting payment"]})
    record.data["financial_status"] = "paid"
    touch(record, now)
    return ["orders/paid", "orders/updated"]


def line_ref(record: OrderRecord, ref: dict[str, Any]) -> dict[str, Any]:
    """The line item (the live object) named by ``{"id": ...}`` or ``{"sku": ...}``."""
    lines: list[dict[str, Any]] = record.data["line_items"]
    for line in lines:
        if "id" in ref:
            if str(line["id"]) == str(ref["id"]):
                return line
        elif ref.get("sku") and line.get("sku") == ref["sku"]:
            return line
    raise StoreError(422, {"line_items": [f"no line item {ref.get('id') or ref.get('sku')!r}"]})


def _fulfilled(line: dict[str, Any]) -> int:
    return max(0, int(line["current_quantity"]) - int(line["fulfillable_quantity"]))


def edit(record: OrderRecord, changes: dict[str, Any], now: datetime) -> list[str]:
    """Change addresses, contact, note, or line quantities (an order edit)."""
    _open(record)
    topics = ["orders/updated"]
    for kind in ("shipping_address", "billing_address"):
        if kind in changes:
            given = changes[kind]
            current = record.data.get(kind) or {}
            merged = None if given is None else _address({**current, **given, "name": given.get("name")})
            record.data[kind] = merged
    for key in ("email", "phone", "note", "note_attributes", "customer_locale", "tags"):
        if key in changes:
            record.data[key] = changes[key]
    for ref in changes.get("line_items") or []:
        line = line_ref(record, ref)
        quantity = int(ref["quantity"])
        if quantity < _fulfilled(line):
            raise StoreError(422, {"line_items": ["cannot go below the quantity already fulfilled"]})
        line["fulfillable_quantity"] = quantity - _fulfilled(line)
        line["current_quantity"] = quantity
        topics = ["orders/edited", "orders/updated"]
    touch(record, now)
    return topics


def refund(record: OrderRecord, items: list[dict[str, Any]], now: datetime) -> list[str]:
    """Refund (and cancel) units of lines; the order becomes partially_refunded or refunded."""
    if record.data["financial_status"] not in ("paid", "partially_refunded"):
        raise StoreError(422, {"base": ["Only paid orders can be refunded"]})
    refund_lines = []
    for ref in items:
        line = line_ref(record, ref)
        quantity = min(int(ref.get("quantity", line["current_quantity"])), int(line["current_quantity"]))
        line["current_quantity"] -= quantity
        line["fulfillable_quantity"] = max(0, line["fulfillable_quantity"] - quantity)
        refund_lines.append(
            {"id": new_id(), "line_item_id": line["id"], "quantity": quantity, "restock_type": "cancel"}
        )
    touch(record, now)
    record.data["refunds"].append(
        {
            "id": new_id(),
            "order_id": record.data["id"],
            "created_at": record.data["updated_at"],
            "refund_line_items": refund_lines,
        }
    )
    left = any(line["current_quantity"] > 0 for line in record.data["line_items"])
    record.data["financial_status"] = "partially_refunded" if left else "refunded"
    return ["orders/updated"]


def cancel(record: OrderRecord, reason: str, now: datetime) -> list[str]:
    _open(record)
    if record.data["fulfillment_status"] == "fulfilled":
        raise StoreError(422, {"base": ["Cannot cancel a fulfilled order"]})
    touch(record, now)
    record.data["cancelled_at"] = record.data["updated_at"]
    record.data["closed_at"] = record.data["updated_at"]
    record.data["cancel_reason"] = reason
    paid = record.data["financial_status"] in ("paid", "partially_refunded")
    record.data["financial_status"] = "refunded" if paid else "voided"
    for line in record.data["line_items"]:
        line["fulfillable_quantity"] = 0
    return ["orders/cancelled", "orders/updated"]
