"""A stored order (kept in Shopify's REST shape) rendered as the GraphQL Admin API shows it.

Written from Shopify's GraphQL schema on its own, apart from the adapter's converter (the sandbox
imports no adapter), so that the tests comparing REST and GraphQL drafts of one order compare two
independent readings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.shopify import fulfilment
from sandbox.shopify.state import OrderRecord, ShopState, Subscription

FULFILLMENT_STATUSES = {"fulfilled": "FULFILLED", "partial": "PARTIALLY_FULFILLED", "restocked": "RESTOCKED"}
NO_SHIPPING = (False, "false", 0, "0")


def gid(kind: str, number: Any) -> str:
    return f"gid://shopify/{kind}/{number}"


def utc(stamp: Any) -> str | None:
    """A REST time (shop offset) as GraphQL's DateTime (UTC, ``Z``)."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: Any, currency: Any) -> dict[str, Any]:
    value = {"amount": str(amount) if amount is not None else "0.0", "currencyCode": currency or "EUR"}
    return {"shopMoney": value, "presentmentMoney": value}


def address(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    return {
        "id": gid("MailingAddress", data.get("id") or abs(hash(str(sorted(data.items(), key=str))))),
        "firstName": data.get("first_name"),
        "lastName": data.get("last_name"),
        "name": data.get("name"),
        "company": data.get("company"),
        "address1": data.get("address1"),
        "address2": data.get("address2"),
        "city": data.get("city"),
        "zip": data.get("zip"),
        "province": data.get("province"),
        "provinceCode": data.get("province_code"),
        "country": data.get("country"),
        "countryCodeV2": data.get("country_code"),
        "phone": data.get("phone"),
        "latitude": data.get("latitude"),
        "longitude": data.get("longitude"),
    }


def _whole(value: Any, default: int) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def line_item(data: dict[str, Any], currency: Any) -> dict[str, Any]:
    quantity = _whole(data.get("quantity"), 0)
    current = _whole(data.get("current_quantity"), quantity)
    return {
        "id": gid("LineItem", data.get("id")),
        "sku": data.get("sku"),
        "name": data.get("name") or data.get("title"),
        "title": data.get("title"),
        "variantTitle": data.get("variant_title"),
        "quantity": quantity,
        "currentQuantity": current,
        "unfulfilledQuantity": _whole(data.get("fulfillable_quantity"), current),
        "requiresShipping": data.get("requires_shipping", True) not in NO_SHIPPING,
        "isGiftCard": data.get("gift_card") is True,
        "originalUnitPriceSet": money(data.get("price"), currency),
        "customAttributes": [
            {"key": item.get("name"), "value": item.get("value")}
            for item in data.get("properties") or []
            if isinstance(item, dict)
        ],
    }


def customer(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    email, phone = data.get("email"), data.get("phone")
    return {
        "id": gid("Customer", data.get("id")),
        "legacyResourceId": str(data.get("id")),
        "firstName": data.get("first_name"),
        "lastName": data.get("last_name"),
        "email": email,
        "phone": phone,
        "defaultEmailAddress": {"emailAddress": email} if email else None,
        "defaultPhoneNumber": {"phoneNumber": phone} if phone else None,
        "defaultAddress": address(data.get("default_address")),
    }


def fulfillment_node(data: dict[str, Any]) -> dict[str, Any]:
    numbers = data.get("tracking_numbers") or (
        [data["tracking_number"]] if data.get("tracking_number") else []
    )
    urls = data.get("tracking_urls") or ([data["tracking_url"]] if data.get("tracking_url") else [])
    return {
        "id": gid("Fulfillment", data.get("id")),
        "legacyResourceId": str(data.get("id")),
        "name": data.get("name"),
        "status": str(data.get("status") or "success").upper(),
        "createdAt": utc(data.get("created_at")),
        "trackingInfo": [
            {
                "company": data.get("tracking_company"),
                "number": number,
                "url": urls[index] if index < len(urls) else None,
            }
            for index, number in enumerate(numbers)
        ],
    }


def fulfillment_order_node(state: ShopState, record: OrderRecord) -> dict[str, Any]:
    rest = fulfilment.fulfillment_order(state, record)
    skus = {line.get("id"): line.get("sku") for line in record.data.get("line_items") or []}
    lines = {line.get("id"): line for line in record.data.get("line_items") or []}
    return {
        "id": gid("FulfillmentOrder", rest["id"]),
        "status": str(rest["status"]).upper(),
        "requestStatus": str(rest["request_status"]).upper(),
        "orderId": gid("Order", record.data["id"]),
        "lineItems": [
            {
                "id": gid("FulfillmentOrderLineItem", item["id"]),
                "remainingQuantity": item["fulfillable_quantity"],
                "totalQuantity": item["quantity"],
                "sku": skus.get(item["line_item_id"]),
                "lineItem": line_item(lines[item["line_item_id"]], record.data.get("currency")),
            }
            for item in rest["line_items"]
        ],
    }


def order_node(state: ShopState, record: OrderRecord) -> dict[str, Any]:
    data = record.data
    currency = data.get("currency")
    tags = data.get("tags")
    fulfillment_order = fulfillment_order_node(state, record)
    return {
        "id": gid("Order", data["id"]),
        "legacyResourceId": str(data["id"]),
        "name": data.get("name"),
        "email": data.get("email"),
        "phone": data.get("phone"),
        "note": data.get("note"),
        "createdAt": utc(data.get("created_at")),
        "updatedAt": utc(data.get("updated_at")),
        "processedAt": utc(data.get("processed_at")),
        "cancelledAt": utc(data.get("cancelled_at")),
        "cancelReason": str(data["cancel_reason"]).upper() if data.get("cancel_reason") else None,
        "closedAt": utc(data.get("closed_at")),
        "test": bool(data.get("test")),
        "tags": [tag.strip() for tag in tags.split(",") if tag.strip()] if isinstance(tags, str) else [],
        "customerLocale": data.get("customer_locale"),
        "currencyCode": currency,
        "displayFinancialStatus": str(data.get("financial_status") or "pending").upper(),
        "displayFulfillmentStatus": FULFILLMENT_STATUSES.get(
            str(data.get("fulfillment_status")), "UNFULFILLED"
        ),
        "totalPriceSet": money(data.get("total_price"), currency),
        "customAttributes": [
            {"key": item.get("name"), "value": item.get("value")}
            for item in data.get("note_attributes") or []
            if isinstance(item, dict)
        ],
        "shippingAddress": address(data.get("shipping_address")),
        "billingAddress": address(data.get("billing_address")),
        "customer": customer(data.get("customer")),
        "shippingLines": [
            {
                "id": gid("ShippingLine", line.get("id") or index),
                "code": line.get("code"),
                "title": line.get("title"),
            }
            for index, line in enumerate(data.get("shipping_lines") or [], start=1)
            if isinstance(line, dict)
        ],
        "lineItems": [
            line_item(line, currency) for line in data.get("line_items") or [] if isinstance(line, dict)
        ],
        "fulfillments": [
            fulfillment_node(item) for item in data.get("fulfillments") or [] if isinstance(item, dict)
        ],
        "fulfillmentOrders": [fulfillment_order] if fulfillment_order["lineItems"] else [],
    }


def subscription_node(subscription: Subscription) -> dict[str, Any]:
    return {
        "id": gid("WebhookSubscription", subscription.id),
        "legacyResourceId": str(subscription.id),
        "topic": subscription.topic.replace("/", "_").upper(),
        "uri": subscription.address,
        "callbackUrl": subscription.address,
        "format": subscription.format.upper(),
        "createdAt": utc(subscription.created_at),
        "updatedAt": utc(subscription.created_at),
        "includeFields": [],
        "apiVersion": {
            "handle": subscription.api_version,
            "displayName": subscription.api_version,
            "supported": True,
        },
    }
