"""The GraphQL Admin API documents the adapter sends, and the one converter from a GraphQL order to
the REST shape.

Webhooks and ``push --file`` bring orders in Shopify's REST JSON (section 1.5 of the webshop facts);
listing and fetching now read them over GraphQL. :func:`order_from_graphql` turns a GraphQL ``Order``
into the REST keys :mod:`adapters.shopify.mapper` reads, so there is one mapper and the worker keeps
seeing REST orders (``id`` is the numeric ``legacyResourceId``). Keys the mapper does not read are
not made up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from adapters.coerce import as_list, as_mapping

ORDER_GID: Final = "gid://shopify/Order/"
# Each query asks for little: Shopify books the requested cost (about 2 + first x the cost of one
# node per connection) before it runs, so a generous ``first`` makes every worker wait for points.
# lines read with the order; an order with more is completed by LINE_ITEMS_QUERY pages
LINES_PER_ORDER: Final = 5
MORE_LINES_PER_PAGE: Final = 100

_ADDRESS = """
fragment Address on MailingAddress {
  firstName lastName name company address1 address2 city zip province provinceCode
  country countryCodeV2 phone
}"""
_LINE = """
fragment Line on LineItem {
  id sku name title variantTitle quantity currentQuantity unfulfilledQuantity
  requiresShipping isGiftCard
  originalUnitPriceSet { shopMoney { amount currencyCode } }
  customAttributes { key value }
}"""
_ORDER = (
    """
fragment OrderFields on Order {
  id legacyResourceId name email phone note createdAt updatedAt processedAt
  cancelledAt cancelReason closedAt test tags customerLocale
  displayFinancialStatus displayFulfillmentStatus
  customAttributes { key value }
  shippingAddress { ...Address }
  billingAddress { ...Address }
  customer {
    id firstName lastName
    defaultEmailAddress { emailAddress }
    defaultPhoneNumber { phoneNumber }
    defaultAddress { ...Address }
  }
  shippingLines(first: 2) { nodes { code title } }
  lineItems(first: LINES) { pageInfo { hasNextPage endCursor } nodes { ...Line } }
}""".replace("LINES", str(LINES_PER_ORDER))
    + _ADDRESS
    + _LINE
)

ORDERS_QUERY: Final = (
    """
query SyncOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ...OrderFields }
  }
}"""
    + _ORDER
)

ORDER_QUERY: Final = (
    """
query SyncOrder($id: ID!) {
  order(id: $id) { ...OrderFields }
}"""
    + _ORDER
)

LINE_ITEMS_QUERY: Final = (
    """
query SyncOrderLines($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: LINES, after: $after) { pageInfo { hasNextPage endCursor } nodes { ...Line } }
  }
}""".replace("LINES", str(MORE_LINES_PER_PAGE))
    + _LINE
)

FULFILLMENT_ORDERS_QUERY: Final = """
query SyncFulfillmentOrders($id: ID!) {
  order(id: $id) {
    fulfillments(first: 5) { trackingInfo(first: 5) { number } }
    fulfillmentOrders(first: 3) {
      nodes {
        id status
        lineItems(first: 20) { nodes { id remainingQuantity sku } }
      }
    }
  }
}"""

FULFILLMENT_CREATE: Final = """
mutation SyncFulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo(first: 20) { company number url } }
    userErrors { field message }
  }
}"""

WEBHOOKS_QUERY: Final = """
query SyncWebhooks($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri format createdAt }
  }
}"""

WEBHOOK_CREATE: Final = """
mutation SyncWebhookCreate($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic uri format createdAt }
    userErrors { field message }
  }
}"""

WEBHOOK_DELETE: Final = """
mutation SyncWebhookDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}"""


def order_gid(shop_order_id: str) -> str:
    """``gid://shopify/Order/N`` for a REST id (a gid is passed through)."""
    return shop_order_id if shop_order_id.startswith("gid://") else ORDER_GID + shop_order_id


def legacy_id(gid: Any) -> int | None:
    """The number at the end of a ``gid://shopify/Kind/N`` (None when there is none)."""
    if not isinstance(gid, str):
        return None
    tail = gid.rsplit("/", 1)[-1].split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


def topic_enum(topic: str) -> str:
    """``orders/create`` -> ``ORDERS_CREATE`` (WebhookSubscriptionTopic)."""
    return topic.replace("/", "_").upper()


def topic_name(enum: str) -> str:
    """``ORDERS_CREATE`` -> ``orders/create``."""
    head, _, rest = enum.lower().partition("_")
    return f"{head}/{rest}" if rest else head


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and value else None


_FULFILLMENT_STATUSES: Final = {
    "FULFILLED": "fulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "RESTOCKED": "restocked",
}


def address_from_graphql(node: Any) -> dict[str, Any] | None:
    if not isinstance(node, Mapping):
        return None
    return {
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
        "name": node.get("name"),
        "company": node.get("company"),
        "address1": node.get("address1"),
        "address2": node.get("address2"),
        "city": node.get("city"),
        "zip": node.get("zip"),
        "province": node.get("province"),
        "province_code": node.get("provinceCode"),
        "country": node.get("country"),
        "country_code": node.get("countryCodeV2"),
        "phone": node.get("phone"),
    }


def line_from_graphql(node: Mapping[str, Any]) -> dict[str, Any]:
    current, unfulfilled = node.get("currentQuantity"), node.get("unfulfilledQuantity")
    # REST's fulfillable_quantity: what is still to ship, after refunds and removals as well
    fulfillable = unfulfilled
    if isinstance(current, int) and isinstance(unfulfilled, int):
        fulfillable = min(current, unfulfilled)
    money = as_mapping(as_mapping(node.get("originalUnitPriceSet")).get("shopMoney"))
    return {
        "id": legacy_id(node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "sku": node.get("sku"),
        "name": node.get("name"),
        "title": node.get("title"),
        "variant_title": node.get("variantTitle"),
        "quantity": node.get("quantity"),
        "current_quantity": current,
        "fulfillable_quantity": fulfillable,
        "requires_shipping": node.get("requiresShipping"),
        "gift_card": node.get("isGiftCard"),
        "price": money.get("amount"),
        "properties": _attributes(node.get("customAttributes")),
    }


def order_from_graphql(node: Mapping[str, Any]) -> dict[str, Any]:
    """A GraphQL ``Order`` (as :data:`ORDERS_QUERY` reads it) in the REST keys the mapper reads."""
    customer_node = node.get("customer")
    customer: dict[str, Any] | None = None
    if isinstance(customer_node, Mapping):
        customer = {
            "id": legacy_id(customer_node.get("id")),
            "first_name": customer_node.get("firstName"),
            "last_name": customer_node.get("lastName"),
            "email": as_mapping(customer_node.get("defaultEmailAddress")).get("emailAddress"),
            "phone": as_mapping(customer_node.get("defaultPhoneNumber")).get("phoneNumber"),
            "default_address": address_from_graphql(customer_node.get("defaultAddress")),
        }
    lines = as_mapping(node.get("lineItems")).get("nodes")
    tags = node.get("tags")
    return {
        "id": legacy_id(node.get("legacyResourceId")) or legacy_id(node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "name": node.get("name"),
        "email": node.get("email"),
        "contact_email": node.get("email"),
        "phone": node.get("phone"),
        "note": node.get("note"),
        "note_attributes": _attributes(node.get("customAttributes")),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "processed_at": node.get("processedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": _lower(node.get("cancelReason")),
        "closed_at": node.get("closedAt"),
        "test": node.get("test"),
        "tags": ", ".join(str(tag) for tag in tags) if isinstance(tags, list) else tags,
        "customer_locale": node.get("customerLocale"),
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "fulfillment_status": _FULFILLMENT_STATUSES.get(str(node.get("displayFulfillmentStatus"))),
        "shipping_address": address_from_graphql(node.get("shippingAddress")),
        "billing_address": address_from_graphql(node.get("billingAddress")),
        "customer": customer,
        "shipping_lines": [
            {"code": line.get("code"), "title": line.get("title")}
            for line in as_list(as_mapping(node.get("shippingLines")).get("nodes"))
            if isinstance(line, Mapping)
        ],
        "line_items": (
            [line_from_graphql(line) for line in lines if isinstance(line, Mapping)]
            if isinstance(lines, list)
            else None
        ),
    }


def _attributes(items: Any) -> list[dict[str, Any]]:
    return [
        {"name": item.get("key"), "value": item.get("value")}
        for item in as_list(items)
        if isinstance(item, Mapping)
    ]
