"""Fulfillment orders and ``POST fulfillments.json`` of the simulated stores.

The sandbox has one location, so each order has exactly one fulfillment order holding its
shippable lines; fulfilling it (in whole or part) lowers the lines' ``fulfillable_quantity``.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sandbox.shopify.errors import StoreError
from sandbox.shopify.state import OrderRecord, ShopState, new_id
from sandbox.shopify.store import LOCATION_ID, line_ref, touch


def fulfillment_order(state: ShopState, record: OrderRecord) -> dict[str, Any]:
    """The order's one fulfillment order (all shippable lines at the sandbox's one location)."""
    lines = [line for line in record.data.get("line_items") or [] if line.get("requires_shipping", True)]
    remaining = sum(int(line["fulfillable_quantity"]) for line in lines)
    if record.data["cancelled_at"]:
        status = "cancelled"
    elif remaining == 0:
        status = "closed"
    else:
        status = "open"
    return {
        "id": record.fulfillment_order_id,
        "shop_id": state.id,
        "order_id": record.data["id"],
        "assigned_location_id": LOCATION_ID,
        "request_status": "unsubmitted",
        "status": status,
        "supported_actions": ["create_fulfillment", "hold"] if status == "open" else [],
        "destination": record.data.get("shipping_address"),
        "delivery_method": {"method_type": "shipping"},
        "fulfillment_holds": [],
        "created_at": record.data["created_at"],
        "updated_at": record.data["updated_at"],
        "line_items": [
            {
                "id": record.fulfillment_line_ids[line["id"]],
                "shop_id": state.id,
                "fulfillment_order_id": record.fulfillment_order_id,
                "line_item_id": line["id"],
                "inventory_item_id": line.get("variant_id"),
                "quantity": line["current_quantity"],
                "fulfillable_quantity": line["fulfillable_quantity"],
                "variant_id": line.get("variant_id"),
            }
            for line in lines
        ],
    }


def create_fulfillment(
    state: ShopState, body: dict[str, Any], now: datetime
) -> tuple[OrderRecord, dict[str, Any], list[str]]:
    """``POST fulfillments.json``: fulfil (parts of) fulfillment orders of one order."""
    request = body.get("fulfillment")
    groups = request.get("line_items_by_fulfillment_order") if isinstance(request, dict) else None
    if not isinstance(request, dict) or not isinstance(groups, list) or not groups:
        raise StoreError(400, {"fulfillment": "Required parameter missing or invalid"})
    by_fo = {record.fulfillment_order_id: record for record in state.orders.values()}
    picked: list[tuple[dict[str, Any], int]] = []
    record: OrderRecord | None = None
    for group in groups:
        fo_id = int(group.get("fulfillment_order_id", 0))
        found = by_fo.get(fo_id)
        if found is None:
            raise StoreError(404, "Not Found")
        if record is not None and found is not record:
            raise StoreError(422, ["All fulfillment orders must belong to the same order."])
        record = found
        fo = fulfillment_order(state, found)
        if fo["status"] != "open":
            raise StoreError(422, [f"Fulfillment order {fo_id} has an unfulfillable status= {fo['status']}."])
        wanted = {
            int(item["id"]): int(item["quantity"]) for item in group.get("fulfillment_order_line_items") or []
        }
        for fo_line in fo["line_items"]:
            quantity = wanted.get(fo_line["id"], fo_line["fulfillable_quantity"] if not wanted else 0)
            if quantity > fo_line["fulfillable_quantity"]:
                raise StoreError(422, [f"Invalid fulfillment order line item quantity requested: {quantity}"])
            if quantity > 0:
                line = line_ref(found, {"id": fo_line["line_item_id"]})
                picked.append((line, quantity))
    assert record is not None  # groups is not empty
    if not picked:
        raise StoreError(422, ["Fulfillment must have at least one line item."])
    for line, quantity in picked:
        line["fulfillable_quantity"] -= quantity
        line["fulfillment_status"] = "fulfilled" if line["fulfillable_quantity"] == 0 else "partial"
    touch(record, now)
    fulfillment = _fulfillment_json(record, request, picked)
    record.data["fulfillments"].append(fulfillment)
    state.fulfillments.append(fulfillment)
    shippable = [line for line in record.data["line_items"] if line.get("requires_shipping", True)]
    done = all(line["fulfillable_quantity"] == 0 for line in shippable)
    record.data["fulfillment_status"] = "fulfilled" if done else "partial"
    if done:
        record.data["closed_at"] = record.data["updated_at"]  # Shopify archives fulfilled, paid orders
    return (
        record,
        fulfillment,
        ["orders/updated", "orders/fulfilled" if done else "orders/partially_fulfilled"],
    )


def _fulfillment_json(
    record: OrderRecord, request: dict[str, Any], picked: list[tuple[dict[str, Any], int]]
) -> dict[str, Any]:
    tracking = request.get("tracking_info") or {}
    # REST takes one number and URL; GraphQL (and REST's newer form) lists of them
    numbers = [item for item in tracking.get("numbers") or [] if item] or (
        [tracking["number"]] if tracking.get("number") else []
    )
    urls = [item for item in tracking.get("urls") or [] if item] or (
        [tracking["url"]] if tracking.get("url") else []
    )
    number, url = (numbers[0] if numbers else None), (urls[0] if urls else None)
    return {
        "id": new_id(),
        "order_id": record.data["id"],
        "name": f"{record.data['name']}.{len(record.data['fulfillments']) + 1}",
        "status": "success",
        "service": "manual",
        "location_id": LOCATION_ID,
        "created_at": record.data["updated_at"],
        "updated_at": record.data["updated_at"],
        "tracking_company": tracking.get("company"),
        "tracking_number": number,
        "tracking_numbers": numbers,
        "tracking_url": url,
        "tracking_urls": urls,
        "notify_customer": bool(request.get("notify_customer", False)),
        "line_items": [{**copy.deepcopy(line), "quantity": quantity} for line, quantity in picked],
    }
