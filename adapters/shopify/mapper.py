"""Shopify order JSON (REST resource = webhook body) -> the verdict and Picqer draft. Pure."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from adapters.draft import DraftLine, MappedOrder, MappingRules, OrderDraft, ShopOrderState
from worker.errors import MappingError

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
ISO2 = re.compile(r"^[A-Z]{2}$")


def map_order(raw: dict[str, Any], rules: MappingRules) -> MappedOrder:
    """The verdict on one Shopify order; raises ``MappingError`` when a READY order cannot be drafted."""
    order = raw["order"] if isinstance(raw.get("order"), dict) else raw  # tolerate an unwrapped API body
    if order.get("id") is None:
        raise MappingError("not a Shopify order: it has no id", field="id")
    financial = str(order.get("financial_status") or "pending")
    fulfillment = order.get("fulfillment_status")
    number = str(order.get("name") or f"#{order.get('order_number', order['id'])}")
    base = {
        "source": rules.source,
        "platform": rules.platform,
        "shop_order_id": str(order["id"]),
        "shop_order_number": number,
        "shop_status": f"{financial}, {fulfillment}" if fulfillment else financial,
        "shop_updated_at": _parse_time(order.get("updated_at")),
    }
    state, reason = _verdict(order, financial, rules)
    if state is not ShopOrderState.READY:
        return MappedOrder(**base, state=state, reason=reason)
    lines = _lines(order)
    if not lines:
        why = (
            "everything is fulfilled already"
            if fulfillment == "fulfilled"
            else "no line is left to ship (refunded, removed, fulfilled or not shippable)"
        )
        return MappedOrder(**base, state=ShopOrderState.NOTHING_TO_SHIP, reason=why)
    draft = _draft(order, number, lines, rules)
    return MappedOrder(**base, state=ShopOrderState.READY, draft=draft)


def _verdict(order: dict[str, Any], financial: str, rules: MappingRules) -> tuple[ShopOrderState, str | None]:
    if order.get("cancelled_at"):
        why = order.get("cancel_reason")
        return ShopOrderState.CANCELLED, "cancelled in Shopify" + (f" (reason: {why})" if why else "")
    if financial in CANCELLING_STATUSES:
        return ShopOrderState.CANCELLED, CANCELLING_STATUSES[financial]
    paid = rules.paid_statuses or list(DEFAULT_PAID_STATUSES)
    if financial not in paid:
        reason = UNPAID_REASONS.get(financial, f"financial status {financial!r} is not a paid status")
        return ShopOrderState.UNPAID, f"{reason} (ships when {' or '.join(paid)})"
    return ShopOrderState.READY, None


def _remaining(line: dict[str, Any]) -> int:
    # fulfillable_quantity is what is still to ship after refunds, edits and fulfilments;
    # older payloads have only current_quantity (after refunds/edits) or quantity
    for key in ("fulfillable_quantity", "current_quantity", "quantity"):
        value = line.get(key)
        if value is not None:
            try:
                return max(0, int(value))
            except (TypeError, ValueError):
                message = f"line {line.get('id')} has a {key} that is not a number"
                raise MappingError(message, field=key) from None
    return 0


def _lines(order: dict[str, Any]) -> list[DraftLine]:
    lines = []
    for position, line in enumerate(order.get("line_items") or [], start=1):
        if line.get("requires_shipping") is False:
            continue  # gift cards, digital goods: nothing for the warehouse
        amount = _remaining(line)
        if amount == 0:
            continue
        label = line.get("title") or line.get("name") or f"id {line.get('id')}"
        sku = str(line.get("sku") or "").strip()
        if not sku:
            message = f"line {position} '{label}' has no SKU"
            raise MappingError(message, field=f"line_items[{position - 1}].sku")
        lines.append(
            DraftLine(
                productcode=sku,
                amount=amount,
                name=line.get("name") or line.get("title"),
                price=_price(line.get("price")),
                remarks=_properties(line.get("properties")),
                shop_line_id=str(line["id"]) if line.get("id") is not None else None,
            )
        )
    return lines


def _draft(order: dict[str, Any], number: str, lines: list[DraftLine], rules: MappingRules) -> OrderDraft:
    shipping = order.get("shipping_address")
    if not isinstance(shipping, dict) or not shipping.get("address1"):
        raise MappingError(
            f"order {number} has no shipping address, but {len(lines)} line(s) need shipping",
            field="shipping_address",
        )
    billing = order.get("billing_address")
    billing = billing if isinstance(billing, dict) and billing.get("address1") else shipping
    customer: dict[str, Any] = order["customer"] if isinstance(order.get("customer"), dict) else {}
    return OrderDraft(
        reference=number,
        **_address("delivery", shipping, "shipping_address"),
        **_address("invoice", billing, "billing_address"),
        emailaddress=_first_text(order.get("email"), order.get("contact_email"), customer.get("email")),
        telephone=_first_text(
            order.get("phone"), shipping.get("phone"), billing.get("phone"), customer.get("phone")
        ),
        customer_remarks=_remarks(order),
        language=_language(rules.language or order.get("customer_locale")),
        products=lines,
        tags=rules.tag_titles(),
    )


def _address(prefix: str, address: dict[str, Any], where: str) -> dict[str, str | None]:
    person = _text(address.get("name")) or _text(
        " ".join(part for part in (address.get("first_name"), address.get("last_name")) if part)
    )
    company = _text(address.get("company"))
    country = str(address.get("country_code") or "").strip().upper()
    if not ISO2.match(country):
        shown = address.get("country_code") or address.get("country") or "nothing"
        message = f"{where} country {shown!r} is not an ISO-2 country code"
        raise MappingError(message, field=f"{where}.country_code")
    return {
        f"{prefix}name": company or person,
        f"{prefix}contactname": person if company else None,
        f"{prefix}address": _text(address.get("address1")),
        f"{prefix}address2": _text(address.get("address2")),
        f"{prefix}zipcode": _text(address.get("zip")),
        f"{prefix}city": _text(address.get("city")),
        f"{prefix}region": _text(address.get("province")),
        f"{prefix}country": country,
    }


def _remarks(order: dict[str, Any]) -> str | None:
    parts = [_text(order.get("note"))]
    for attribute in order.get("note_attributes") or []:
        if isinstance(attribute, dict) and attribute.get("name"):
            parts.append(f"{attribute['name']}: {attribute.get('value') or ''}".strip())
    return "\n".join(part for part in parts if part) or None


def _properties(properties: Any) -> str | None:
    # Shopify hides properties whose name starts with "_" from the customer; so do we
    if not isinstance(properties, list):
        return None
    shown = [
        f"{item['name']}: {item.get('value') or ''}".strip()
        for item in properties
        if isinstance(item, dict) and item.get("name") and not str(item["name"]).startswith("_")
    ]
    return "\n".join(shown) or None


def _language(locale: Any) -> str | None:
    code = str(locale or "").split("-")[0].split("_")[0].lower()
    return code if code in PICQER_LANGUAGES else None


def _price(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _first_text(*values: Any) -> str | None:
    for value in values:
        text = _text(value)
        if text:
            return text
    return None


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
