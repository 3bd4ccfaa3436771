"""What the demo reads back: an order as the mirror has it, the shops' fulfilments, Picqer's traffic."""

from __future__ import annotations

from dataclasses import dataclass

from worker.db import orders
from worker.db.session import session_scope
from worker.demo.plan import PlannedOrder
from worker.demo.settings import DEMO_SHOP
from worker.demo.stack import DemoStack


@dataclass(frozen=True)
class MirrorView:
    """What the mirror holds of one order (read in one session, detached from it)."""

    sync_state: str
    idorder: int | None
    picqer_status: str | None
    reason: str | None  # last_error, or the note of a skipped order
    trackingcode: str | None
    reported: bool  # fulfilment_reported_at is set


def mirror_row(stack: DemoStack, planned: PlannedOrder) -> MirrorView | None:
    """The order as the mirror has it now (with its first tracking code), or None."""
    with session_scope(stack.engine) as session:
        row = orders.get_order(session, source=planned.source, shop_order_id=planned.shop_order_id)
        if row is None or row.id is None:
            return None
        shipments = orders.list_shipments(session, order_id=row.id)
        codes = [item.trackingcode for item in shipments if item.trackingcode]
        return MirrorView(
            sync_state=row.sync_state,
            idorder=row.idorder,
            picqer_status=row.picqer_status,
            reason=row.last_error or row.note,
            trackingcode=codes[0] if codes else None,
            reported=row.fulfilment_reported_at is not None,
        )


def shop_tracking_codes(stack: DemoStack, source: str) -> dict[str, set[str]]:
    """What each shop simulator recorded as fulfilled: ``{shop_order_id: {tracking codes}}``."""
    platform = stack.source(source).platform
    found: dict[str, set[str]] = {}
    if platform == "shopify":
        for item in stack.control("GET", f"shopify/shops/{DEMO_SHOP}/fulfillments")["fulfillments"]:
            found.setdefault(str(item["order_id"]), set()).update(item.get("tracking_numbers") or [])
    elif platform == "woocommerce":
        for item in stack.control("GET", f"woocommerce/shops/{DEMO_SHOP}/fulfilments"):
            # WooCommerce has no tracking field: the code travels in a note to the customer
            notes = " ".join(item.get("customer_notes") or [])
            found.setdefault(str(item["order_id"]), set()).add(notes)
    else:
        for shipment in stack.control("GET", f"magento/shops/{DEMO_SHOP}/shipments"):
            codes = {str(track["track_number"]) for track in shipment.get("tracks") or []}
            found.setdefault(str(shipment["order_id"]), set()).update(codes)
    return found


def shop_has_fulfilment(stack: DemoStack, planned: PlannedOrder, trackingcode: str) -> bool:
    recorded = shop_tracking_codes(stack, planned.source).get(planned.shop_order_id, set())
    return any(trackingcode in text for text in recorded)


def picqer_request_counts(stack: DemoStack) -> tuple[int, int]:
    """(API requests Picqer answered, of which 429s), from the sandbox's request log."""
    requests = stack.control("GET", "picqer/requests")
    return len(requests), sum(1 for entry in requests if entry["status"] == 429)
