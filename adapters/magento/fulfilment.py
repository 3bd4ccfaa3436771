"""Tell Magento an order shipped: ``POST /V1/order/{id}/ship`` with its items and tracking numbers.

Idempotent by looking first: the order is read, and only what it still has to ship is shipped. An order
that is complete, closed or cancelled, or has nothing left, gets no second shipment. Items are the
top-level rows: Magento ships the children of a configurable (and of a bundle shipped together, its
default) along with their parent row, and ignores a child row named without its parent.
"""

from __future__ import annotations

from typing import Any

from adapters.fulfilment import fulfilment_reported, fulfilment_skipped
from adapters.magento.lines import is_virtual, remaining_quantity
from adapters.magento.source import MagentoSource
from adapters.platform import Tracking

FINISHED_STATES = frozenset({"complete", "closed", "canceled"})
# Magento's own carrier codes; any other carrier is the "custom" carrier with its name as title
KNOWN_CARRIERS = frozenset({"ups", "usps", "fedex", "dhl"})
DEFAULT_TRACK_TITLE = "Tracking"


def report_fulfilment(
    source: MagentoSource, *, shop_order_id: str, tracking: list[Tracking], notify: bool = True
) -> None:
    """Ship what the order still has to ship, with ``tracking``; do nothing when nothing is left."""
    order = source.get_order(shop_order_id)
    reference = order.get("increment_id")
    items = items_to_ship(order)
    finished = order.get("state") in FINISHED_STATES
    if finished or not items:
        fulfilment_skipped(
            source,
            shop_order_id=shop_order_id,
            reason="finished in the shop" if finished else "nothing is left to ship",
            reference=reference,
            shop_state=order.get("state"),
        )
        return
    body = ship_request(items, tracking, notify=notify)
    # a 5xx here raises OutcomeUnknown; the retry reads the order again and ships only what is left
    response = source.send("POST", f"order/{shop_order_id}/ship", idempotent=False, json=body)
    fulfilment_reported(
        source,
        shop_order_id=shop_order_id,
        parcels=len(tracking),
        reference=reference,
        shipment_id=_shipment_id(response.json()),
    )


def items_to_ship(order: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{"order_item_id", "qty"}]`` for each top-level row with something left to ship."""
    rows = order.get("items")
    items: list[dict[str, Any]] = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or row.get("parent_item_id") or row.get("parent_item"):
            continue
        remaining = remaining_quantity(row)
        if is_virtual(row) or remaining <= 0:
            continue
        qty: int | float = int(remaining) if remaining.is_integer() else remaining
        items.append({"order_item_id": row.get("item_id"), "qty": qty})
    return items


def ship_request(items: list[dict[str, Any]], tracking: list[Tracking], *, notify: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"items": items, "notify": notify, "tracks": [_track(t) for t in tracking]}
    urls = [t.trackingurl for t in tracking if t.trackingurl]
    if urls:
        # Magento's custom carrier has no tracking URL field; a comment the buyer sees carries them
        body["appendComment"] = True
        body["comment"] = {"comment": "Track your parcel: " + " ".join(urls), "is_visible_on_front": 1}
    return body


def _track(tracking: Tracking) -> dict[str, str]:
    carrier = (tracking.carrier or "").strip()
    code = carrier.lower() if carrier.lower() in KNOWN_CARRIERS else "custom"
    return {
        "track_number": tracking.trackingcode or "",
        "title": carrier or DEFAULT_TRACK_TITLE,
        "carrier_code": code,
    }


def _shipment_id(body: Any) -> str | None:
    # the ship endpoint answers the new shipment id as a bare JSON number or string
    return str(body) if isinstance(body, int | str) else None
