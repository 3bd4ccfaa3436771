"""Order, refund and note JSON in WooCommerce REST v3's shape (modelled on the vendor sample).

Pure builders: the simulator keeps the JSON itself as its state, so what the API serves and what a
webhook carries is exactly one representation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

WOO_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash")
STATUS_LABELS = {
    "pending": "Pending payment",
    "processing": "Processing",
    "on-hold": "On hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
    "failed": "Failed",
    "trash": "Trash",
}
ADDRESS_KEYS = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
)
DEFAULT_BILLING = {
    "first_name": "Jan",
    "last_name": "Jansen",
    "company": "",
    "address_1": "Damrak 1",
    "address_2": "",
    "city": "Amsterdam",
    "state": "",
    "postcode": "1012 LG",
    "country": "NL",
    "email": "jan.jansen@example.com",
    "phone": "+31 20 123 4567",
}
SHIPPING_TOTAL = "4.95"


def woo_date(moment: datetime | None) -> str | None:
    return moment.strftime(WOO_DATE_FORMAT) if moment is not None else None


def stamp(order: dict[str, Any], field: str, moment: datetime, utc_offset: timedelta) -> None:
    """Set ``field`` (site time) and ``field_gmt``: Woo always serves both."""
    order[field] = woo_date(moment + utc_offset)
    order[f"{field}_gmt"] = woo_date(moment)


def money(value: float) -> str:
    return f"{value:.2f}"


def address(given: dict[str, str] | None, *, with_contact: bool) -> dict[str, str]:
    """An address object; ``None`` gives the demo address, ``{}`` an empty one (all "")."""
    base = DEFAULT_BILLING if given is None else {key: "" for key in DEFAULT_BILLING}
    merged = {**base, **(given or {})}
    keys = (*ADDRESS_KEYS, "email", "phone") if with_contact else ADDRESS_KEYS
    return {key: str(merged.get(key, "")) for key in keys}


def line_item(
    item_id: int, product_id: int, sku: str, name: str, quantity: int, price: float
) -> dict[str, Any]:
    total = money(price * quantity)
    return {
        "id": item_id,
        "name": name,
        "product_id": product_id,
        "variation_id": 0,
        "quantity": quantity,
        "tax_class": "",
        "subtotal": total,
        "subtotal_tax": "0.00",
        "total": total,
        "total_tax": "0.00",
        "taxes": [],
        "meta_data": [],
        "sku": sku,
        "price": price,  # a number, while the totals are strings (as in the vendor sample)
    }


def links(base: str, path: str) -> dict[str, list[dict[str, str]]]:
    collection = path.rsplit("/", 1)[0]
    return {"self": [{"href": f"{base}{path}"}], "collection": [{"href": f"{base}{collection}"}]}


def new_order(
    *,
    order_id: int,
    status: str,
    billing: dict[str, str],
    shipping: dict[str, str],
    lines: list[dict[str, Any]],
    shipping_line_id: int,
    customer_note: str,
    now: datetime,
    utc_offset: timedelta,
    api_base: str,
) -> dict[str, Any]:
    items_total = sum(float(line["total"]) for line in lines)
    order: dict[str, Any] = {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "order_key": f"wc_order_{order_id:013x}",
        "created_via": "checkout",
        "version": "9.1.0",
        "status": status,
        "currency": "EUR",
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": SHIPPING_TOTAL,
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": money(items_total + float(SHIPPING_TOTAL)),
        "total_tax": "0.00",
        "prices_include_tax": True,
        "customer_id": 0,
        "customer_ip_address": "127.0.0.1",
        "customer_user_agent": "picqer-sync sandbox",
        "customer_note": customer_note,
        "billing": billing,
        "shipping": shipping,
        "payment_method": "bacs",
        "payment_method_title": "Direct bank transfer",
        "transaction_id": "",
        "date_paid": None,
        "date_paid_gmt": None,
        "date_completed": None,
        "date_completed_gmt": None,
        "cart_hash": "",
        "meta_data": [],
        "line_items": lines,
        "tax_lines": [],
        "shipping_lines": [
            {
                "id": shipping_line_id,
                "method_title": "Flat rate",
                "method_id": "flat_rate",
                "total": SHIPPING_TOTAL,
                "total_tax": "0.00",
                "taxes": [],
                "meta_data": [],
            }
        ],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
        "_links": links(api_base, f"orders/{order_id}"),
    }
    stamp(order, "date_created", now, utc_offset)
    stamp(order, "date_modified", now, utc_offset)
    if status in ("processing", "completed"):
        stamp(order, "date_paid", now, utc_offset)
    return order


def refund_object(
    *,
    refund_id: int,
    order_id: int,
    reason: str,
    amount: float,
    refund_lines: list[dict[str, Any]],
    now: datetime,
    utc_offset: timedelta,
    api_base: str,
) -> dict[str, Any]:
    """A full refund (``GET orders/{id}/refunds``); its lines carry negative quantities and totals."""
    refund: dict[str, Any] = {
        "id": refund_id,
        "amount": money(amount),
        "reason": reason,
        "refunded_by": 1,
        "refunded_payment": False,
        "meta_data": [],
        "line_items": refund_lines,
        "shipping_lines": [],
        "tax_lines": [],
        "fee_lines": [],
        "_links": links(api_base, f"orders/{order_id}/refunds/{refund_id}"),
    }
    stamp(refund, "date_created", now, utc_offset)
    return refund


def refund_line(*, item_id: int, meta_id: int, line: dict[str, Any], quantity: int) -> dict[str, Any]:
    """The refund's copy of an order line: negative quantity, pointing back by ``_refunded_item_id``."""
    total = money(-float(line["price"]) * quantity)
    return {
        "id": item_id,
        "name": line["name"],
        "product_id": line["product_id"],
        "variation_id": line["variation_id"],
        "quantity": -quantity,
        "tax_class": "",
        "subtotal": total,
        "subtotal_tax": "0.00",
        "total": total,
        "total_tax": "0.00",
        "taxes": [],
        "meta_data": [
            {
                "id": meta_id,
                "key": "_refunded_item_id",
                "value": str(line["id"]),
                "display_key": "_refunded_item_id",
                "display_value": str(line["id"]),
            }
        ],
        "sku": line["sku"],
        "price": -float(line["price"]),
    }


def note_object(
    *, note_id: int, note: str, customer_note: bool, author: str, now: datetime, utc_offset: timedelta
) -> dict[str, Any]:
    result: dict[str, Any] = {"id": note_id, "author": author, "note": note, "customer_note": customer_note}
    stamp(result, "date_created", now, utc_offset)
    return result
