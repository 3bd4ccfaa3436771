"""Magento 2 order JSON (``GET /V1/orders/{id}``) -> the verdict and the Picqer draft. Pure.

Decisions, in the order they are taken:

* ``state`` ``canceled`` or ``closed`` (fully refunded) -> CANCELLED;
* ``state`` ``complete`` -> never pushed (NOTHING_TO_SHIP, "already complete in the shop"): the
  shop already shipped it, so a warehouse order would ship it twice;
* paid is ``state`` ``processing`` (invoiced); ``rules.paid_statuses`` replaces that with a list
  matched against ``state`` *or* ``status``, so a custom status such as ``paid_ready`` can be named;
  anything else (new, pending_payment, payment_review, holded) -> UNPAID with the shop's words;
* the lines (see ``lines.py``); none left -> NOTHING_TO_SHIP.

Customer remarks: Magento's own ``customer_note`` when the shop fills it, else the oldest status-history
comment marked ``is_visible_on_front``. Checkout-comment extensions store the buyer's remark in one of
these two places; admin-only comments (not visible on front) are internal notes, never sent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from adapters.coerce import country_code, first_text, joined, number, text
from adapters.draft import DraftLine, MappedOrder, MappingRules, OrderDraft, ShopOrderState
from adapters.errors import MappingError
from adapters.magento.lines import ShipLine, ship_lines
from adapters.mapping import ShopOrderHeader, address_fields, order_draft
from adapters.types import MAGENTO

DEFAULT_PAID_STATES = frozenset({"processing"})
CANCELLED_STATES = {"canceled": "cancelled in the shop", "closed": "closed (refunded) in the shop"}
UNPAID_REASONS = {
    "new": "not paid yet (new order, no invoice)",
    "pending_payment": "waiting for the payment to complete",
    "payment_review": "payment is under review in the shop",
    "holded": "on hold in the shop",
}
MAGENTO_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# a second street line that is only a house number (with an addition): "12", "12 A", "12-3", "12bis"
HOUSE_NUMBER = re.compile(r"^\d+[\s\-/]?[A-Za-z0-9]{0,4}$")

Order = dict[str, Any]


def map_order(raw: Order, rules: MappingRules) -> MappedOrder:
    """The verdict on one Magento order; raises ``MappingError`` when a READY order cannot be drafted."""
    if not isinstance(raw, dict):
        raise MappingError("not a Magento order: expected a JSON object", field="entity_id")
    entity_id = text(raw.get("entity_id"))
    if entity_id is None or isinstance(raw.get("entity_id"), bool):
        raise MappingError("Magento order without entity_id", field="entity_id")
    reference = text(raw.get("increment_id")) or str(entity_id)
    state = text(raw.get("state")) or ""
    status = text(raw.get("status")) or state

    header = ShopOrderHeader(
        source=rules.source,
        platform=MAGENTO,
        shop_order_id=str(entity_id),
        shop_order_number=reference,
        shop_status=state if status == state else f"{state} ({status})",
        shop_updated_at=parse_magento_time(raw.get("updated_at")),
        shop_created_at=parse_magento_time(raw.get("created_at")),
    )
    if state in CANCELLED_STATES:
        return header.verdict(ShopOrderState.CANCELLED, CANCELLED_STATES[state])
    if state == "complete":
        return header.verdict(ShopOrderState.NOTHING_TO_SHIP, "already complete in the shop")
    if not _is_paid(state, status, rules):
        return header.verdict(
            ShopOrderState.UNPAID,
            UNPAID_REASONS.get(state, f"not paid: state {state or 'unknown'}, status {status}"),
        )
    lines = ship_lines(_rows(raw), reference=reference)
    return header.ready_unless_empty(
        lines,
        lambda: _draft(raw, reference=reference, lines=lines, rules=rules),
        nothing_left="nothing left to ship (shipped, refunded, cancelled or virtual)",
    )


def parse_magento_time(value: Any) -> datetime | None:
    """Magento's ``"YYYY-MM-DD HH:MM:SS"`` (stored in UTC, sent without a zone) as an aware UTC time."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip()[:19], MAGENTO_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _is_paid(state: str, status: str, rules: MappingRules) -> bool:
    if rules.paid_statuses:
        return state in rules.paid_statuses or status in rules.paid_statuses
    return state in DEFAULT_PAID_STATES


def _rows(raw: Order) -> list[dict[str, Any]]:
    items = raw.get("items")
    if not isinstance(items, list):
        raise MappingError(f"order {raw.get('increment_id')}: no items list", field="items")
    return [row for row in items if isinstance(row, dict)]


def _draft(raw: Order, *, reference: str, lines: list[ShipLine], rules: MappingRules) -> OrderDraft:
    shipping = _shipping_address(raw)
    if shipping is None:
        raise MappingError(
            f"order {reference}: no shipping address (extension_attributes.shipping_assignments)",
            field="extension_attributes.shipping_assignments[0].shipping.address",
        )
    billing_raw = raw.get("billing_address")
    # an empty or street-less billing address is no address: the invoice then goes to the delivery address
    has_street = isinstance(billing_raw, dict) and _street_lines(billing_raw.get("street"))[0] is not None
    billing = billing_raw if isinstance(billing_raw, dict) and has_street else None
    delivery = _address_fields(shipping, prefix="delivery", where="shipping address", reference=reference)
    invoice = (
        _address_fields(billing, prefix="invoice", where="billing_address", reference=reference)
        if billing
        else {}
    )
    return order_draft(
        rules,
        number=reference,
        delivery=delivery,
        invoice=invoice,
        products=[
            DraftLine(
                productcode=line.sku,
                amount=line.quantity,
                name=line.name,
                price=line.price,
                shop_line_id=line.item_id,
            )
            for line in lines
        ],
        shipping_methods=_shipping_methods(raw),
        language=rules.language,
        telephone=first_text(shipping.get("telephone"), (billing or {}).get("telephone")),
        emailaddress=first_text(raw.get("customer_email"), (billing or {}).get("email")),
        customer_remarks=_customer_remarks(raw),
    )


def _shipping_methods(raw: Order) -> list[object]:
    """The method code (``tablerate_bestway``) of the shipping assignment, then the description."""
    extension = raw.get("extension_attributes")
    assignments = extension.get("shipping_assignments") if isinstance(extension, dict) else None
    first = assignments[0] if isinstance(assignments, list) and assignments else None
    shipping = first.get("shipping") if isinstance(first, dict) else None
    method = shipping.get("method") if isinstance(shipping, dict) else None
    return [method, raw.get("shipping_method"), raw.get("shipping_description")]


def _shipping_address(raw: Order) -> dict[str, Any] | None:
    extension = raw.get("extension_attributes")
    assignments = extension.get("shipping_assignments") if isinstance(extension, dict) else None
    if not isinstance(assignments, list) or not assignments or not isinstance(assignments[0], dict):
        return None
    shipping = assignments[0].get("shipping")
    address = shipping.get("address") if isinstance(shipping, dict) else None
    return address if isinstance(address, dict) and address else None


def _address_fields(address: dict[str, Any], *, prefix: str, where: str, reference: str) -> dict[str, Any]:
    country = country_code(address.get("country_id"))
    if country is None:
        raise MappingError(
            f"order {reference}: {where} has no valid ISO-2 country ({address.get('country_id')!r})",
            field=f"{where}.country_id",
        )
    street, street2 = _street_lines(address.get("street"))
    return address_fields(
        prefix,
        person=joined(address.get("firstname"), address.get("middlename"), address.get("lastname")),
        company=text(address.get("company")),
        street=street,
        street2=street2,
        zipcode=text(address.get("postcode")),
        city=text(address.get("city")),
        region=text(address.get("region")) or text(address.get("region_code")),
        country=country,
    )


def _street_lines(street: Any) -> tuple[str | None, str | None]:
    lines = [part for line in street if (part := text(line))] if isinstance(street, list) else []
    if isinstance(street, str):
        lines = [part for line in street.splitlines() if (part := text(line))]
    if not lines:
        return None, None
    first, rest = lines[0], lines[1:]
    # Dutch and Belgian shops often configure a separate house-number line; it belongs on line one
    if rest and HOUSE_NUMBER.match(rest[0]):
        first, rest = f"{first} {rest[0]}", rest[1:]
    return first, (" ".join(rest) or None)


def _customer_remarks(raw: Order) -> str | None:
    note = text(raw.get("customer_note"))
    if note:
        return note
    histories = raw.get("status_histories")
    if not isinstance(histories, list):
        return None
    visible = [
        entry
        for entry in histories
        if isinstance(entry, dict) and entry.get("is_visible_on_front") and text(entry.get("comment"))
    ]
    # Magento lists the newest first; the buyer's remark is the oldest one
    visible.sort(key=lambda entry: (text(entry.get("created_at")) or "", number(entry.get("entity_id"))))
    return text(visible[0].get("comment")) if visible else None
