"""WooCommerce order JSON -> Picqer order draft (pure; no I/O).

Decisions, each a place where Woo leaves room:

* **Paid** means status ``processing`` (``set_paid`` sets it; ``rules.paid_statuses`` overrides).
  ``pending``, ``on-hold``, ``failed`` and any other status wait as UNPAID.
* **completed** means the shop already considers the order done (shipped by hand, or by us after
  Picqer shipped it). An order first seen as completed is never pushed: NOTHING_TO_SHIP with the
  reason "already completed in the shop". Add ``completed`` to ``paid_statuses`` to push those too.
* ``cancelled``, ``refunded`` and ``trash`` are CANCELLED.
* **Quantities** are what is still to ship: each line's ``quantity`` minus what its refunds gave
  back. Woo's order JSON lists refunds as ``{id, reason, total}`` only; the lines are in the full
  refund objects (``GET orders/{id}/refunds``, filled in by ``WooCommerceSource``), whose line
  items carry **negative** quantities and point at the order line by the ``_refunded_item_id``
  meta (newer stores also give ``refunded_item_id``). We subtract the absolute value. A refund
  given only as a total is money back (shipping, a discount) and changes no quantity.
* **No SKU**: Woo has no "needs shipping" flag on order lines, so every line counts, and a line
  without SKU fails the order with a reason naming the line (Picqer matches products by SKU).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from adapters.coerce import as_list, as_mapping, country_code, first_text, joined, price, quantity, text
from adapters.draft import DraftLine, MappedOrder, MappingRules, OrderDraft, ShopOrderState
from adapters.errors import MappingError
from adapters.mapping import NO_LINE_ITEMS, ShopOrderHeader, address_fields, order_draft
from adapters.types import WOOCOMMERCE
from adapters.woocommerce.source import parse_woo_date

DEFAULT_PAID_STATUSES = ("processing",)
CANCELLED_STATUSES = frozenset({"cancelled", "refunded", "trash"})
COMPLETED_STATUS = "completed"
ALREADY_COMPLETED = "already completed in the shop"


def map_order(raw: dict[str, Any], rules: MappingRules) -> MappedOrder:
    """The verdict on one Woo order; the draft only when it is READY. Raises ``MappingError``."""
    if not isinstance(raw, Mapping):
        raise MappingError("not a WooCommerce order: expected a JSON object", field="id")
    order_id = _order_id(raw.get("id"))
    if order_id is None:
        raise MappingError("the order has no numeric id", field="id")
    number = text(raw.get("number")) or str(order_id)
    status = (text(raw.get("status")) or "pending").lower()
    header = ShopOrderHeader(
        source=rules.source,
        platform=WOOCOMMERCE,
        shop_order_id=str(order_id),
        shop_order_number=number,
        shop_status=status,
        shop_updated_at=parse_woo_date(raw.get("date_modified_gmt")),
        shop_created_at=parse_woo_date(raw.get("date_created_gmt")),
    )

    paid_statuses = set(rules.paid_statuses or DEFAULT_PAID_STATUSES)
    if status in CANCELLED_STATUSES:
        return header.verdict(ShopOrderState.CANCELLED, f"{status} in the shop")
    if status not in paid_statuses:
        if status == COMPLETED_STATUS:
            return header.verdict(ShopOrderState.NOTHING_TO_SHIP, ALREADY_COMPLETED)
        return header.verdict(ShopOrderState.UNPAID, f"not paid yet (status {status})")

    if not isinstance(raw.get("line_items"), list):
        return header.verdict(ShopOrderState.NOTHING_TO_SHIP, NO_LINE_ITEMS)
    lines = _draft_lines(raw)
    return header.ready_unless_empty(
        lines, lambda: _draft(raw, number, lines, rules), nothing_left="no line is left to ship after refunds"
    )


def _draft(raw: Mapping[str, Any], number: str, lines: list[DraftLine], rules: MappingRules) -> OrderDraft:
    billing = as_mapping(raw.get("billing"))
    shipping = as_mapping(raw.get("shipping"))
    # a shop without shipping zones (or a "ship to billing" checkout) leaves shipping empty
    delivery, delivery_field = (shipping, "shipping") if _has_address(shipping) else (billing, "billing")
    if not _has_address(delivery):
        raise MappingError(
            "the order has no delivery address (shipping and billing are empty)", field="shipping"
        )
    invoice, invoice_field = (billing, "billing") if _has_address(billing) else (delivery, delivery_field)
    return order_draft(
        rules,
        number=number,
        delivery=_address("delivery", delivery, delivery_field),
        invoice=_address("invoice", invoice, invoice_field),
        products=lines,
        shipping_methods=_shipping_methods(raw),
        language=rules.language,
        telephone=first_text(billing.get("phone"), shipping.get("phone")),
        emailaddress=text(billing.get("email")),
        customer_remarks=text(raw.get("customer_note")),
    )


def _shipping_methods(raw: Mapping[str, Any]) -> list[object]:
    """Method id and title of each shipping line (``shipping_lines[].method_id`` / ``.method_title``)."""
    lines = raw.get("shipping_lines")
    if not isinstance(lines, list):
        return []
    return [
        line.get(key) for line in lines if isinstance(line, dict) for key in ("method_id", "method_title")
    ]


def _address(prefix: str, address: Mapping[str, Any], where: str) -> dict[str, str | None]:
    country = country_code(address.get("country"))
    if country is None:
        shown = text(address.get("country")) or "empty"
        raise MappingError(
            f"{where} country {shown!r} is not an ISO 3166 two-letter code", field=f"{where}.country"
        )
    return address_fields(
        prefix,
        person=joined(address.get("first_name"), address.get("last_name")),
        company=text(address.get("company")),
        street=text(address.get("address_1")),
        street2=text(address.get("address_2")),
        zipcode=text(address.get("postcode")),
        city=text(address.get("city")),
        region=text(address.get("state")),
        country=country,
    )


def _draft_lines(raw: Mapping[str, Any]) -> list[DraftLine]:
    refunded = refunded_quantities(raw)
    lines: list[DraftLine] = []
    for position, item in enumerate(as_list(raw.get("line_items"))):
        line = as_mapping(item)
        line_id = line.get("id")
        name = html.unescape(text(line.get("name")) or "")
        amount = quantity(line.get("quantity")) - refunded.get(str(line_id), 0)
        if amount <= 0:
            continue  # refunded in full: nothing of it to ship, so its SKU does not matter
        sku = text(line.get("sku"))
        if not sku:
            raise MappingError(
                f"line {line_id} ({name or 'unnamed product'}) has no SKU, so Picqer cannot find the product",
                field=f"line_items[{position}].sku",
            )
        lines.append(
            DraftLine(
                productcode=sku,
                amount=amount,
                name=name or None,
                price=price(line.get("price")),
                shop_line_id=str(line_id) if line_id is not None else None,
            )
        )
    return lines


def refunded_quantities(raw: Mapping[str, Any]) -> dict[str, int]:
    """Units refunded per order line id, from refunds that carry their lines."""
    refunded: dict[str, int] = defaultdict(int)
    for refund in as_list(raw.get("refunds")):
        for item in as_list(as_mapping(refund).get("line_items")):
            line = as_mapping(item)
            target = _refunded_item_id(line)
            if target is not None:
                # refund lines carry negative quantities (-1 = one unit back); some plugins write +1
                refunded[target] += abs(quantity(line.get("quantity")))
    return dict(refunded)


def _refunded_item_id(line: Mapping[str, Any]) -> str | None:
    direct = line.get("refunded_item_id")
    if direct not in (None, "", 0, "0"):
        return str(direct)
    for meta in as_list(line.get("meta_data")):
        entry = as_mapping(meta)
        if entry.get("key") == "_refunded_item_id" and entry.get("value") not in (None, ""):
            return str(entry["value"])
    return None


def _has_address(address: Mapping[str, Any]) -> bool:
    return bool(text(address.get("address_1")) or text(address.get("city")))


def _order_id(value: object) -> int | None:
    """Woo ids are integers; a numeric string ("727") is accepted, anything else is not an id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


__all__ = ["ALREADY_COMPLETED", "DEFAULT_PAID_STATUSES", "map_order", "refunded_quantities"]
