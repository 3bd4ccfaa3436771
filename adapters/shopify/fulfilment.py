"""Tell Shopify an order shipped, with tracking: ``fulfillmentOrders`` + ``fulfillmentCreate``, once.

One fulfilment per Picqer picklist when an order ships in parts: parcels are grouped by
``idpicklist``; a group whose picklist says what it held (``Tracking.products``) fulfils exactly
those lines, the last group fulfils whatever is still open. A group Shopify already shows (all its
tracking numbers are on the order's fulfilments) is not sent again, and what is fulfilled is not
open any more: that is what makes a repeated report safe. GraphQL takes every tracking number and
URL of a shipment (``trackingInfo.numbers`` / ``urls``), so no parcel is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from adapters.coerce import as_list, as_mapping, text
from adapters.errors import ApiRejected
from adapters.fulfilment import fulfilment_reported, fulfilment_skipped
from adapters.platform import Tracking
from adapters.shopify.graphql import FULFILLMENT_CREATE, FULFILLMENT_ORDERS_QUERY, order_gid
from adapters.shopify.source import ShopifySource

# fulfillment order states that can still be fulfilled (CLOSED, CANCELLED, ON_HOLD, ... cannot)
FULFILLABLE_STATES: Final = frozenset({"OPEN", "IN_PROGRESS"})


@dataclass
class OpenLine:
    fulfillment_order_id: str
    id: str
    sku: str | None
    remaining: int


@dataclass
class FulfilmentState:
    open_lines: list[OpenLine] = field(default_factory=list)
    reported_numbers: set[str] = field(default_factory=set)  # tracking numbers Shopify already shows


def fulfilment_state(source: ShopifySource, shop_order_id: str) -> FulfilmentState:
    data = source.graphql(
        FULFILLMENT_ORDERS_QUERY, {"id": order_gid(shop_order_id)}, operation="fulfillment_orders"
    )
    order = data.get("order")
    if not isinstance(order, Mapping):
        raise ApiRejected(
            f"shopify has no order {shop_order_id}",
            service=source.platform,
            status=404,
            error_message="Not Found",
        )
    state = FulfilmentState()
    for fulfillment in as_list(order.get("fulfillments")):
        for info in as_list(as_mapping(fulfillment).get("trackingInfo")):
            number = text(as_mapping(info).get("number"))
            if number:
                state.reported_numbers.add(number)
    for item in as_list(as_mapping(order.get("fulfillmentOrders")).get("nodes")):
        item = as_mapping(item)
        if item.get("status") not in FULFILLABLE_STATES:
            continue
        for line in as_list(as_mapping(item.get("lineItems")).get("nodes")):
            line = as_mapping(line)
            remaining = line.get("remainingQuantity")
            if isinstance(remaining, int) and remaining > 0:
                state.open_lines.append(
                    OpenLine(str(item["id"]), str(line["id"]), text(line.get("sku")), remaining)
                )
    return state


def by_picklist(tracking: list[Tracking]) -> list[list[Tracking]]:
    """The parcels grouped by the picklist that shipped them, in the order given."""
    groups: dict[object, list[Tracking]] = {}
    for parcel in tracking:
        groups.setdefault(parcel.idpicklist if parcel.idpicklist is not None else "?", []).append(parcel)
    return list(groups.values())


def tracking_info(parcels: list[Tracking]) -> dict[str, Any] | None:
    """Every number and URL of the parcels, and the first carrier (None without any number)."""
    numbers = [parcel.trackingcode for parcel in parcels if parcel.trackingcode]
    if not numbers:
        return None
    info: dict[str, Any] = {"numbers": numbers}
    urls = [parcel.trackingurl for parcel in parcels if parcel.trackingurl]
    if urls:
        info["urls"] = urls
    company = next((parcel.carrier for parcel in parcels if parcel.carrier), None)
    if company:
        info["company"] = company
    return info


def _take(open_lines: list[OpenLine], products: list[tuple[str, int]]) -> list[tuple[OpenLine, int]]:
    """The open lines (and how many of each) that hold ``products``, matched by SKU."""
    taken: list[tuple[OpenLine, int]] = []
    for sku, amount in products:
        wanted = amount
        for line in open_lines:
            if wanted <= 0:
                break
            used = sum(quantity for other, quantity in taken if other is line)
            free = line.remaining - used
            if line.sku == sku and free > 0:
                taken.append((line, min(free, wanted)))
                wanted -= min(free, wanted)
    return taken


def _line_groups(picked: list[tuple[OpenLine, int]], whole: bool) -> list[dict[str, Any]]:
    by_order: dict[str, list[dict[str, Any]]] = {}
    for line, quantity in picked:
        by_order.setdefault(line.fulfillment_order_id, []).append({"id": line.id, "quantity": quantity})
    if whole:  # everything still open of each fulfillment order: name the orders only
        return [{"fulfillmentOrderId": order_id} for order_id in by_order]
    return [
        {"fulfillmentOrderId": order_id, "fulfillmentOrderLineItems": lines}
        for order_id, lines in by_order.items()
    ]


def report_fulfilment(
    source: ShopifySource, *, shop_order_id: str, tracking: list[Tracking], notify_customer: bool = True
) -> None:
    """Fulfil what is still open of the order, one fulfilment per picklist; a no-op when nothing is."""
    state = fulfilment_state(source, shop_order_id)
    if not state.open_lines:
        fulfilment_skipped(source, shop_order_id=shop_order_id, reason="nothing is open to fulfil")
        return
    pending = [
        group
        for group in by_picklist(tracking)
        if not all(parcel.trackingcode in state.reported_numbers for parcel in group)
    ]
    # each group but the last fulfils the lines its picklist held; the last takes what is left
    plans: list[tuple[list[tuple[OpenLine, int]], list[Tracking], bool]] = []
    carried: list[Tracking] = []
    open_lines = list(state.open_lines)
    for group in pending[:-1]:
        products = [pair for parcel in group for pair in parcel.products]
        picked = _take(open_lines, products) if products else []
        if not picked:  # no line information: ship it with the rest
            carried.extend(group)
            continue
        plans.append((picked, group, False))
        for line, quantity in picked:
            line.remaining -= quantity
        open_lines = [line for line in open_lines if line.remaining > 0]
    last = carried + (pending[-1] if pending else [])
    if open_lines:
        plans.append(([(line, line.remaining) for line in open_lines], last, True))
    for picked, parcels, whole in plans:
        _create(source, shop_order_id, picked, parcels, whole=whole, notify_customer=notify_customer)
    fulfilment_reported(source, shop_order_id=shop_order_id, parcels=len(tracking), fulfilments=len(plans))


def _create(
    source: ShopifySource,
    shop_order_id: str,
    picked: list[tuple[OpenLine, int]],
    parcels: list[Tracking],
    *,
    whole: bool,
    notify_customer: bool,
) -> None:
    fulfillment: dict[str, Any] = {
        "lineItemsByFulfillmentOrder": _line_groups(picked, whole),
        "notifyCustomer": notify_customer,
    }
    info = tracking_info(parcels)
    if info:
        fulfillment["trackingInfo"] = info
    # a 5xx may come after Shopify stored it: OutcomeUnknown, and the next report looks first
    data = source.graphql(
        FULFILLMENT_CREATE, {"fulfillment": fulfillment}, operation="fulfillment_create", idempotent=False
    )
    errors = as_list(as_mapping(data.get("fulfillmentCreate")).get("userErrors"))
    if not errors:
        return
    # someone fulfilled it meanwhile, so nothing is open any more: that is the outcome we wanted
    if not fulfilment_state(source, shop_order_id).open_lines:
        return
    raise ApiRejected(
        f"shopify refused the fulfilment of order {shop_order_id}",
        service=source.platform,
        status=200,
        error_message=user_errors_text(errors),
    )


def user_errors_text(errors: list[Any]) -> str:
    """``field: message`` of each GraphQL userError, joined."""
    parts = []
    for error in errors:
        error = as_mapping(error)
        where = ".".join(str(part) for part in as_list(error.get("field")))
        message = text(error.get("message")) or "refused"
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)[:300]
