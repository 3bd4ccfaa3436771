"""Tell Shopify an order shipped, with tracking: fulfil its open fulfillment orders, once.

Shopify's REST flow: read ``orders/{id}/fulfillment_orders.json``, then ``POST fulfillments.json``
naming the fulfillment orders (all their remaining lines). What is already fulfilled is not
open any more, so repeating the call does nothing; that is what makes it safe to retry.
"""

from __future__ import annotations

from typing import Any

from adapters.errors import ApiRejected
from adapters.fulfilment import fulfilment_reported, fulfilment_skipped
from adapters.platform import Tracking
from adapters.shopify.source import ShopifySource

# fulfillment order states that can still be fulfilled (closed/cancelled/on_hold cannot)
FULFILLABLE_STATES = frozenset({"open", "in_progress"})


def open_fulfillment_orders(source: ShopifySource, shop_order_id: str) -> list[dict[str, Any]]:
    """The order's fulfillment orders that still have something to fulfil."""
    body = source.send("GET", f"orders/{shop_order_id}/fulfillment_orders.json").json()
    return [
        item
        for item in body.get("fulfillment_orders") or []
        if item.get("status") in FULFILLABLE_STATES
        and any(int(line.get("fulfillable_quantity") or 0) > 0 for line in item.get("line_items") or [])
    ]


def tracking_info(tracking: list[Tracking]) -> dict[str, str] | None:
    """REST takes one tracking number per fulfilment: the first parcel's (None without tracking)."""
    if not tracking:
        return None
    first = tracking[0]
    info = {"number": first.trackingcode, "url": first.trackingurl, "company": first.carrier}
    return {key: value for key, value in info.items() if value}


def report_fulfilment(
    source: ShopifySource, *, shop_order_id: str, tracking: list[Tracking], notify_customer: bool = True
) -> None:
    """Fulfil what is still open of the order, with tracking; a no-op when nothing is open."""
    pending = open_fulfillment_orders(source, shop_order_id)
    if not pending:
        fulfilment_skipped(source, shop_order_id=shop_order_id, reason="nothing is open to fulfil")
        return
    fulfillment: dict[str, Any] = {
        "line_items_by_fulfillment_order": [{"fulfillment_order_id": item["id"]} for item in pending],
        "notify_customer": notify_customer,
    }
    info = tracking_info(tracking)
    if info:
        fulfillment["tracking_info"] = info
    try:
        source.send("POST", "fulfillments.json", json={"fulfillment": fulfillment})
    except ApiRejected:
        # A retried POST whose first attempt was stored, or someone fulfilled it meanwhile, is
        # rejected because nothing is open any more: that is the outcome we wanted.
        if open_fulfillment_orders(source, shop_order_id):
            raise
    fulfilment_reported(source, shop_order_id=shop_order_id, parcels=len(tracking))
