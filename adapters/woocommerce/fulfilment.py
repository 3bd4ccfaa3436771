"""Tell WooCommerce an order shipped: a customer note with the tracking, then status completed.

Idempotent, so the worker may call it again after any failure: the note is only added when some
tracking code is not yet in a note of the order, and ``PUT status=completed`` is only sent when the
order is not completed yet. The note goes first: if we die between the two steps, the retry finds
the note and only completes the order (the reverse order would be equally safe, but a customer
then gets the "completed" mail without the tracking note for a while).
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.fulfilment import fulfilment_reported, fulfilment_skipped
from adapters.platform import Tracking
from adapters.woocommerce.source import WooCommerceSource

COMPLETED = "completed"
# a shipment of an order the shop has given up on is not the shop's news any more; a person decides
NOT_COMPLETABLE = frozenset({"cancelled", "refunded", "trash", "failed"})


def tracking_note(tracking: Sequence[Tracking]) -> str:
    """The customer-facing note text, one line per shipment."""
    lines = ["Your order has been shipped."]
    for item in tracking:
        parts = [item.carrier, item.trackingcode, item.trackingurl]
        lines.append("Track & trace: " + " ".join(part for part in parts if part))
    return "\n".join(lines)


def report_fulfilment(source: WooCommerceSource, *, shop_order_id: str, tracking: Sequence[Tracking]) -> None:
    """Mark ``shop_order_id`` completed with a customer note holding the tracking codes."""
    order = source.get_order(shop_order_id)
    status = str(order.get("status") or "")
    if status in NOT_COMPLETABLE:
        fulfilment_skipped(
            source,
            shop_order_id=shop_order_id,
            reason="the shop gave the order up",
            needs_a_person=True,
            shop_status=status,
        )
        return
    codes = [item for item in tracking if item.trackingcode]
    if codes:
        notes = " ".join(str(note.get("note") or "") for note in source.list_notes(shop_order_id))
        missing = [item for item in codes if (item.trackingcode or "") not in notes]
        if missing:
            source.add_note(shop_order_id, tracking_note(missing), customer_note=True)
    if status != COMPLETED:
        source.update_order(shop_order_id, {"status": COMPLETED})
    fulfilment_reported(
        source, shop_order_id=shop_order_id, parcels=len(tracking), was_completed=status == COMPLETED
    )
