"""Shopify order JSON (REST resource = webhook body) -> the verdict and Picqer draft. Pure.

Decisions, each a place where real payloads leave room:

* **Paid** is ``financial_status`` ``paid`` or ``partially_refunded`` (``rules.paid_statuses``
  replaces that list); ``refunded`` and ``voided``, or any ``cancelled_at``, are CANCELLED; anything
  else (pending, authorized, partially_paid, expired, missing) waits as UNPAID with the reason.
* **Quantities** are what is still to ship: ``fulfillable_quantity`` (after refunds, edits and
  fulfilments), else ``current_quantity``, else ``quantity``. Lines with ``requires_shipping`` false
  or ``gift_card`` true never go to the warehouse. No line left (or no ``line_items`` at all) ->
  NOTHING_TO_SHIP.
* **Delivery address**: ``shipping_address`` may be absent or null on a paid order (pickup,
  digital-only checkouts, orders created through the API). We then fall back to the
  ``billing_address``, then to the customer's ``default_address``; an address counts when it has a
  street (``address1``). With none of the three the order fails with a ``MappingError`` that says
  so (field ``shipping_address``). The invoice address is the billing address, else the delivery one.
* **Names**: the company when there is one, with the person as contact; a person's name comes from
  the address (``name`` or first + last), else from the customer.
* **Robustness**: real payloads carry nulls where objects are expected, numbers as strings, empty
  strings and missing keys. Every such value is read defensively; an order we cannot map raises a
  ``MappingError`` naming the field, never another exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adapters.coerce import as_list, as_mapping, country_code, first_text, joined, price, text
from adapters.draft import DraftLine, MappedOrder, MappingRules, OrderDraft, ShopOrderState
from adapters.errors import MappingError
from adapters.mapping import NO_LINE_ITEMS, ShopOrderHeader, address_fields, order_draft
from adapters.types import SHOPIFY

DEFAULT_PAID_STATUSES = ("paid", "partially_refunded")
# money went back or was never taken: the order must not (or no longer) ship
CANCELLING_STATUSES = {
    "refunded": "the payment was refunded in full",
    "voided": "the payment was voided",
}
UNPAID_REASONS = {
    "pending": "payment is pending",
    "authorized": "payment is authorized but not captured yet",
    "partially_paid": "the order is only partially paid",
    "expired": "the payment authorization expired",
}
PICQER_LANGUAGES = ("nl", "en")
NO_SHIPPING = (False, "false", 0, "0")


def map_order(raw: dict[str, Any], rules: MappingRules) -> MappedOrder:
    """The verdict on one Shopify order; raises ``MappingError`` when a READY order cannot be drafted."""
    if not isinstance(raw, dict):
        raise MappingError("not a Shopify order: expected a JSON object", field="order")
    order = raw["order"] if isinstance(raw.get("order"), dict) else raw  # tolerate a wrapped API body
    order_id = _identifier(order.get("id"))
    if order_id is None:
        raise MappingError("not a Shopify order: it has no id", field="id")
    financial = (text(order.get("financial_status")) or "pending").lower()
    fulfillment = text(order.get("fulfillment_status"))
    order_number = _identifier(order.get("order_number"))
    number = text(order.get("name")) or f"#{order_number or order_id}"
    header = ShopOrderHeader(
        source=rules.source,
        platform=SHOPIFY,
        shop_order_id=order_id,
        shop_order_number=number,
        shop_status=f"{financial}, {fulfillment}" if fulfillment else financial,
        shop_updated_at=_parse_time(order.get("updated_at")),
        shop_created_at=_parse_time(order.get("created_at")),
    )
    state, reason = _verdict(order, financial, rules)
    if state is not ShopOrderState.READY:
        return header.verdict(state, reason)
    if not isinstance(order.get("line_items"), list):
        return header.verdict(ShopOrderState.NOTHING_TO_SHIP, NO_LINE_ITEMS)
    lines = _lines(order)
    nothing_left = (
        "everything is fulfilled already"
        if fulfillment == "fulfilled"
        else "no line is left to ship (refunded, removed, fulfilled or not shippable)"
    )
    return header.ready_unless_empty(
        lines, lambda: _draft(order, number, lines, rules), nothing_left=nothing_left
    )


def _verdict(order: dict[str, Any], financial: str, rules: MappingRules) -> tuple[ShopOrderState, str | None]:
    if text(order.get("cancelled_at")):
        why = text(order.get("cancel_reason"))
        return ShopOrderState.CANCELLED, "cancelled in Shopify" + (f" (reason: {why})" if why else "")
    if financial in CANCELLING_STATUSES:
        return ShopOrderState.CANCELLED, CANCELLING_STATUSES[financial]
    paid = rules.paid_statuses or list(DEFAULT_PAID_STATUSES)
    if financial not in paid:
        reason = UNPAID_REASONS.get(financial, f"financial status {financial!r} is not a paid status")
        return ShopOrderState.UNPAID, f"{reason} (ships when {' or '.join(paid)})"
    return ShopOrderState.READY, None


def _remaining(line: dict[str, Any], position: int) -> int:
    # fulfillable_quantity is what is still to ship after refunds, edits and fulfilments;
    # older payloads have only current_quantity (after refunds/edits) or quantity
    for key in ("fulfillable_quantity", "current_quantity", "quantity"):
        value = line.get(key)
        if value is None or value == "":
            continue
        try:
            if isinstance(value, bool | list | dict):
                raise TypeError
            return max(0, int(float(str(value).strip())))
        except (TypeError, ValueError, OverflowError):
            message = f"line {position} (id {line.get('id')}) has a {key} that is not a number: {value!r}"
            raise MappingError(message, field=f"line_items[{position - 1}].{key}") from None
    return 0


def _lines(order: dict[str, Any]) -> list[DraftLine]:
    lines = []
    for position, line in enumerate(as_list(order.get("line_items")), start=1):
        if not isinstance(line, dict):
            message = f"line {position} is not a line item object ({type(line).__name__})"
            raise MappingError(message, field=f"line_items[{position - 1}]")
        if line.get("requires_shipping") in NO_SHIPPING or line.get("gift_card") is True:
            continue  # gift cards, digital goods: nothing for the warehouse
        amount = _remaining(line, position)
        if amount == 0:
            continue
        name = text(line.get("name")) or text(line.get("title"))
        label = text(line.get("title")) or name or f"id {line.get('id')}"
        sku = text(line.get("sku"))
        if not sku:
            message = f"line {position} '{label}' has no SKU"
            raise MappingError(message, field=f"line_items[{position - 1}].sku")
        lines.append(
            DraftLine(
                productcode=sku,
                amount=amount,
                name=name,
                price=price(line.get("price")),
                remarks=_properties(line.get("properties")),
                shop_line_id=_identifier(line.get("id")),
            )
        )
    return lines


def _draft(order: dict[str, Any], number: str, lines: list[DraftLine], rules: MappingRules) -> OrderDraft:
    customer = as_mapping(order.get("customer"))
    candidates = [
        ("shipping_address", as_mapping(order.get("shipping_address"))),
        ("billing_address", as_mapping(order.get("billing_address"))),
        ("customer.default_address", as_mapping(customer.get("default_address"))),
    ]
    usable = [(where, address) for where, address in candidates if text(address.get("address1"))]
    if not usable:
        raise MappingError(
            f"order {number} has no shipping address (and no billing or customer address to fall back on),"
            f" but {len(lines)} line(s) need shipping",
            field="shipping_address",
        )
    delivery_where, delivery = usable[0]
    billing = candidates[1][1]
    invoice_where, invoice = (
        ("billing_address", billing) if text(billing.get("address1")) else (delivery_where, delivery)
    )
    return order_draft(
        rules,
        number=number,
        delivery=_address("delivery", delivery, delivery_where, customer),
        invoice=_address("invoice", invoice, invoice_where, customer),
        products=lines,
        shipping_methods=_shipping_methods(order),
        language=_language(rules.language or order.get("customer_locale")),
        telephone=first_text(
            order.get("phone"), delivery.get("phone"), billing.get("phone"), customer.get("phone")
        ),
        emailaddress=first_text(order.get("email"), order.get("contact_email"), customer.get("email")),
        customer_remarks=_remarks(order),
    )


def _shipping_methods(order: dict[str, Any]) -> list[object]:
    """Code and title of each shipping line, in order (``shipping_lines[].code`` / ``.title``)."""
    lines = order.get("shipping_lines")
    if not isinstance(lines, list):
        return []
    return [line.get(key) for line in lines if isinstance(line, dict) for key in ("code", "title")]


def _address(
    prefix: str, address: Mapping[str, Any], where: str, customer: Mapping[str, Any]
) -> dict[str, str | None]:
    country = country_code(address.get("country_code"))
    if country is None:
        shown = text(address.get("country_code")) or text(address.get("country")) or "nothing"
        message = f"{where} country {shown!r} is not an ISO-2 country code"
        raise MappingError(message, field=f"{where}.country_code")
    return address_fields(
        prefix,
        person=(
            text(address.get("name"))
            or joined(address.get("first_name"), address.get("last_name"))
            or joined(customer.get("first_name"), customer.get("last_name"))
        ),
        company=text(address.get("company")),
        street=text(address.get("address1")),
        street2=text(address.get("address2")),
        zipcode=text(address.get("zip")),
        city=text(address.get("city")),
        region=text(address.get("province")) or text(address.get("province_code")),
        country=country,
    )


def _remarks(order: dict[str, Any]) -> str | None:
    parts = [text(order.get("note"))]
    for attribute in as_list(order.get("note_attributes")):
        if isinstance(attribute, dict) and text(attribute.get("name")):
            parts.append(f"{text(attribute['name'])}: {text(attribute.get('value')) or ''}".strip())
    return "\n".join(part for part in parts if part) or None


def _properties(properties: Any) -> str | None:
    # Shopify hides properties whose name starts with "_" from the customer; so do we
    shown = []
    for item in as_list(properties):
        name = text(item.get("name")) if isinstance(item, dict) else None
        if name and not name.startswith("_"):
            shown.append(f"{name}: {text(item.get('value')) or ''}".strip())
    return "\n".join(shown) or None


def _language(locale: Any) -> str | None:
    code = (text(locale) or "").split("-")[0].split("_")[0].lower()
    return code if code in PICQER_LANGUAGES else None


def _identifier(value: Any) -> str | None:
    """An id or number as text: ints and non-empty strings; never bools, floats with a fraction, objects."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else None
    if isinstance(value, int):
        return str(value)
    return text(value) if isinstance(value, str) else None


def _parse_time(value: Any) -> datetime | None:
    stamp = text(value)
    try:
        return datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        return None
