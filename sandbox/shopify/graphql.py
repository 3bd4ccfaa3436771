"""The GraphQL Admin API of the simulated stores: ``POST /admin/api/{version}/graphql.json``.

A real GraphQL server (graphql-core, the reference implementation's Python port) over the part of
Shopify's schema a sync client and Shopify's own libraries use: ``shop``, ``orders`` / ``order``
(with line items, fulfillments and fulfillment orders), ``fulfillmentOrders``, ``fulfillmentCreate``,
``webhookSubscriptions`` / ``webhookSubscriptionCreate`` / ``webhookSubscriptionDelete``. Ids are
``gid://shopify/...`` with ``legacyResourceId``; connections page with opaque cursors.

Rate limit by calculated query cost, as Shopify documents it: a scalar or enum costs 0, an object 1,
a connection 2 plus ``first`` (or ``last``) times the cost of one node, a mutation 10. The cost is
taken from the store's bucket before the query runs (``THROTTLED`` when it cannot pay, answered
with HTTP 200 as Shopify does), the part the answer did not use is given back, and every answer
carries ``extensions.cost`` with the bucket's ``throttleStatus``.
"""

from __future__ import annotations

import base64
import bisect
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, Final, TypeAlias

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    build_schema,
    execute,
    get_named_type,
    parse,
    validate,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values

from sandbox.shopify import fastexec, render
from sandbox.shopify.errors import StoreError
from sandbox.shopify.ports import GraphQLPort
from sandbox.shopify.state import OrderRecord, ShopState, UpdatedKey, updated_key

Info: TypeAlias = "GraphQLResolveInfo[Any]"
MAX_QUERY_COST: Final = 1000
MUTATION_COST: Final = 10
DEFAULT_PAGE: Final = 10  # Shopify requires first or last; we are kinder to hand-written queries

SDL: Final = """
schema { query: QueryRoot mutation: Mutation }

scalar DateTime
scalar Decimal
scalar URL
scalar UnsignedInt64

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
type UserError { field: [String!] message: String! }
type MoneyV2 { amount: Decimal! currencyCode: String! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }
type Attribute { key: String! value: String }
type ApiVersion { handle: String! displayName: String! supported: Boolean! }

type Shop {
  id: ID! name: String! email: String myshopifyDomain: String! currencyCode: String!
  ianaTimezone: String! plan: ShopPlan!
}
type ShopPlan { displayName: String! partnerDevelopment: Boolean! shopifyPlus: Boolean! }

type MailingAddress {
  id: ID firstName: String lastName: String name: String company: String address1: String
  address2: String city: String zip: String province: String provinceCode: String country: String
  countryCodeV2: String phone: String latitude: Float longitude: Float
}
type CustomerEmailAddress { emailAddress: String }
type CustomerPhoneNumber { phoneNumber: String! }
type Customer {
  id: ID! legacyResourceId: UnsignedInt64! firstName: String lastName: String email: String
  phone: String defaultEmailAddress: CustomerEmailAddress defaultPhoneNumber: CustomerPhoneNumber
  defaultAddress: MailingAddress
}

type LineItem {
  id: ID! sku: String name: String title: String variantTitle: String quantity: Int!
  currentQuantity: Int! unfulfilledQuantity: Int! requiresShipping: Boolean! isGiftCard: Boolean!
  originalUnitPriceSet: MoneyBag! customAttributes: [Attribute!]!
}
type LineItemEdge { cursor: String! node: LineItem! }
type LineItemConnection { nodes: [LineItem!]! edges: [LineItemEdge!]! pageInfo: PageInfo! }

type ShippingLine { id: ID code: String title: String }
type ShippingLineEdge { cursor: String! node: ShippingLine! }
type ShippingLineConnection { nodes: [ShippingLine!]! edges: [ShippingLineEdge!]! pageInfo: PageInfo! }

type FulfillmentTrackingInfo { company: String number: String url: URL }
type Fulfillment {
  id: ID! legacyResourceId: UnsignedInt64! name: String status: String! createdAt: DateTime
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
}

enum FulfillmentOrderStatus { OPEN IN_PROGRESS CLOSED CANCELLED INCOMPLETE ON_HOLD SCHEDULED }
type FulfillmentOrderLineItem {
  id: ID! remainingQuantity: Int! totalQuantity: Int! sku: String lineItem: LineItem!
}
type FulfillmentOrderLineItemEdge { cursor: String! node: FulfillmentOrderLineItem! }
type FulfillmentOrderLineItemConnection {
  nodes: [FulfillmentOrderLineItem!]! edges: [FulfillmentOrderLineItemEdge!]! pageInfo: PageInfo!
}
type FulfillmentOrder {
  id: ID! status: FulfillmentOrderStatus! requestStatus: String! orderId: ID!
  lineItems(first: Int, after: String, last: Int, before: String): FulfillmentOrderLineItemConnection!
}
type FulfillmentOrderEdge { cursor: String! node: FulfillmentOrder! }
type FulfillmentOrderConnection {
  nodes: [FulfillmentOrder!]! edges: [FulfillmentOrderEdge!]! pageInfo: PageInfo!
}

enum OrderDisplayFinancialStatus {
  AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED VOIDED
}
enum OrderDisplayFulfillmentStatus {
  FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT RESTOCKED SCHEDULED
  UNFULFILLED REQUEST_DECLINED
}
enum OrderCancelReason { CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }
enum OrderSortKeys { CREATED_AT ID PROCESSED_AT UPDATED_AT }

type Order {
  id: ID! legacyResourceId: UnsignedInt64! name: String! email: String phone: String note: String
  createdAt: DateTime! updatedAt: DateTime! processedAt: DateTime cancelledAt: DateTime
  cancelReason: OrderCancelReason closedAt: DateTime test: Boolean! tags: [String!]!
  customerLocale: String currencyCode: String
  displayFinancialStatus: OrderDisplayFinancialStatus
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  totalPriceSet: MoneyBag!
  customAttributes: [Attribute!]!
  shippingAddress: MailingAddress billingAddress: MailingAddress customer: Customer
  shippingLines(first: Int, after: String, last: Int, before: String): ShippingLineConnection!
  lineItems(first: Int, after: String, last: Int, before: String): LineItemConnection!
  fulfillments(first: Int): [Fulfillment!]!
  fulfillmentOrders(first: Int, after: String, last: Int, before: String, displayable: Boolean):
    FulfillmentOrderConnection!
}
type OrderEdge { cursor: String! node: Order! }
type OrderConnection { nodes: [Order!]! edges: [OrderEdge!]! pageInfo: PageInfo! }

enum WebhookSubscriptionTopic {
  ORDERS_CREATE ORDERS_UPDATED ORDERS_PAID ORDERS_CANCELLED ORDERS_FULFILLED
  ORDERS_PARTIALLY_FULFILLED ORDERS_EDITED ORDERS_DELETE
}
enum WebhookSubscriptionFormat { JSON XML }
type WebhookSubscription {
  id: ID! legacyResourceId: UnsignedInt64! topic: WebhookSubscriptionTopic! uri: String!
  callbackUrl: URL format: WebhookSubscriptionFormat! createdAt: DateTime! updatedAt: DateTime!
  includeFields: [String!]! apiVersion: ApiVersion!
}
type WebhookSubscriptionEdge { cursor: String! node: WebhookSubscription! }
type WebhookSubscriptionConnection {
  nodes: [WebhookSubscription!]! edges: [WebhookSubscriptionEdge!]! pageInfo: PageInfo!
}

type QueryRoot {
  shop: Shop!
  order(id: ID!): Order
  orders(first: Int, after: String, last: Int, before: String, query: String,
         sortKey: OrderSortKeys, reverse: Boolean): OrderConnection!
  fulfillmentOrders(first: Int, after: String, last: Int, before: String, includeClosed: Boolean,
                    query: String, reverse: Boolean): FulfillmentOrderConnection!
  webhookSubscription(id: ID!): WebhookSubscription
  webhookSubscriptions(first: Int, after: String, last: Int, before: String,
                       topics: [WebhookSubscriptionTopic!], uri: String, callbackUrl: URL,
                       format: WebhookSubscriptionFormat): WebhookSubscriptionConnection!
}

input FulfillmentOrderLineItemInput { id: ID! quantity: Int! }
input FulfillmentOrderLineItemsInput {
  fulfillmentOrderId: ID! fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!]
}
input FulfillmentTrackingInput { company: String number: String numbers: [String!] url: URL urls: [URL!] }
input FulfillmentOriginAddressInput {
  address1: String address2: String city: String countryCode: String! provinceCode: String zip: String
}
input FulfillmentInput {
  lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]! notifyCustomer: Boolean
  trackingInfo: FulfillmentTrackingInput originAddress: FulfillmentOriginAddressInput
}
input WebhookSubscriptionInput {
  uri: String callbackUrl: URL format: WebhookSubscriptionFormat includeFields: [String!]
  metafieldNamespaces: [String!] filter: String
}
type FulfillmentCreatePayload { fulfillment: Fulfillment userErrors: [UserError!]! }
type WebhookSubscriptionCreatePayload { webhookSubscription: WebhookSubscription userErrors: [UserError!]! }
type WebhookSubscriptionDeletePayload { deletedWebhookSubscriptionId: ID userErrors: [UserError!]! }

type Mutation {
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
  webhookSubscriptionCreate(topic: WebhookSubscriptionTopic!,
                            webhookSubscription: WebhookSubscriptionInput!): WebhookSubscriptionCreatePayload
  webhookSubscriptionDelete(id: ID!): WebhookSubscriptionDeletePayload
}
"""


class Context:
    """What the resolvers of one request see."""

    def __init__(self, port: GraphQLPort, state: ShopState, *, version: str, signed_by: str) -> None:
        self.port = port
        self.state = state
        self.version = version
        self.signed_by = signed_by


# -- cursors and connections -----------------------------------------------------------------------


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise GraphQLError(f"Invalid cursor: {cursor}") from None
    if not isinstance(key, list):
        raise GraphQLError(f"Invalid cursor: {cursor}")
    return key


def connection(rows: list[tuple[list[Any], Any]], args: Mapping[str, Any]) -> dict[str, Any]:
    """A page of ``rows`` (``(key, node)`` sorted by key) for first/after or last/before."""
    first, last = args.get("first"), args.get("last")
    if first is not None and last is not None:
        raise GraphQLError("Passing both `first` and `last` to paginate a connection is not supported.")
    if (first is not None and first < 0) or (last is not None and last < 0):
        raise GraphQLError("`first` and `last` must not be negative.")
    after, before = args.get("after"), args.get("before")
    window = rows
    if after:
        mark = decode_cursor(after)
        window = [row for row in window if row[0] > mark]
    if before:
        mark = decode_cursor(before)
        window = [row for row in window if row[0] < mark]
    has_next = has_previous = False
    if last is not None:
        has_previous = len(window) > last
        window = window[-last:] if last else []
    else:
        size = DEFAULT_PAGE if first is None else first
        has_next = len(window) > size
        window = window[:size]
    has_previous = has_previous or bool(window and rows and window[0][0] > rows[0][0])
    has_next = has_next or bool(window and rows and window[-1][0] < rows[-1][0])
    return page_of(window, has_next=has_next, has_previous=has_previous)


def page_of(window: list[tuple[list[Any], Any]], *, has_next: bool, has_previous: bool) -> dict[str, Any]:
    """A Relay connection's answer for ``window`` (each node with its sort key, the cursor's source)."""
    edges = [{"cursor": encode_cursor(key), "node": node} for key, node in window]
    return {
        "nodes": [node for _, node in window],
        "edges": edges,
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _nested_connection(parent: Any, info: Info, **args: Any) -> dict[str, Any]:
    """A connection field of a rendered object: the parent holds the whole list under the field name."""
    items = parent.get(info.field_name) if isinstance(parent, Mapping) else None
    return connection([([index], node) for index, node in enumerate(items or [])], args)


def _limited_list(parent: Any, info: Info, first: int | None = None) -> list[Any]:
    items = list(parent.get(info.field_name) or []) if isinstance(parent, Mapping) else []
    return items[:first] if first is not None else items


# -- the orders search syntax ---------------------------------------------------------------------


def _moment(text: str) -> datetime:
    value = text.strip("'\"")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"Invalid date in query: {value}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.now().astimezone().tzinfo)


_COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "": lambda a, b: a == b,
}


def order_filter(query: str | None) -> Callable[[OrderRecord], bool]:
    """Terms ``field:value`` joined by spaces (AND): updated_at / created_at with >, >=, <, <=;
    status (open, closed, cancelled, any), financial_status, id, name. Other terms are ignored, as
    Shopify ignores a filter it does not know (with a warning)."""
    tests: list[Callable[[OrderRecord], bool]] = []
    for term in (query or "").split():
        name, _, value = term.partition(":")
        operator = next((op for op in (">=", "<=", ">", "<") if value.startswith(op)), "")
        value = value[len(operator) :]
        compare = _COMPARE[operator]
        test = _term(name, value, compare)
        if test is not None:
            tests.append(test)
    return lambda record: all(test(record) for test in tests)


def _term(name: str, value: str, compare: Callable[[Any, Any], bool]) -> Callable[[OrderRecord], bool] | None:
    bare = value.strip("'\"")
    if name == "updated_at":
        moment = _moment(value)
        return lambda record: compare(record.updated, moment)
    if name == "created_at":
        moment = _moment(value)
        return lambda record: compare(datetime.fromisoformat(record.data["created_at"]), moment)
    if name == "status":
        return lambda record: _status_matches(record, bare.lower())
    if name == "financial_status":
        return lambda record: record.data.get("financial_status") == bare.lower()
    if name == "name":  # Shopify finds "#1001" by "1001" too
        return lambda record: str(record.data.get("name") or "").lstrip("#") == bare.lstrip("#")
    if name == "id" and bare.rsplit("/", 1)[-1].isdigit():
        number = int(bare.rsplit("/", 1)[-1])
        return lambda record: compare(int(record.data["id"]), number)
    return None


def _status_matches(record: OrderRecord, wanted: str) -> bool:
    closed, cancelled = record.data.get("closed_at"), record.data.get("cancelled_at")
    return {
        "open": not closed and not cancelled,
        "closed": bool(closed),
        "cancelled": bool(cancelled),
        "not_closed": not closed,
    }.get(wanted, True)


def _order_key(record: OrderRecord, sort_key: str) -> list[Any]:
    if sort_key == "UPDATED_AT":
        return list(record.updated_key)  # UTC, as the store's index sorts
    if sort_key in ("CREATED_AT", "PROCESSED_AT"):
        field = "created_at" if sort_key == "CREATED_AT" else "processed_at"
        stamp = datetime.fromisoformat(record.data.get(field) or record.data["created_at"])
        return [stamp.isoformat(), int(record.data["id"])]
    return [int(record.data["id"])]


def _number(gid: Any, kind: str) -> int:
    text = str(gid)
    prefix = f"gid://shopify/{kind}/"
    if not text.startswith(prefix) or not text[len(prefix) :].isdigit():
        raise GraphQLError(f"Invalid global id '{text}'", extensions={"code": "argumentLiteralsIncompatible"})
    return int(text[len(prefix) :])


# -- resolvers --------------------------------------------------------------------------------


def _shop(_: Any, info: Info) -> dict[str, Any]:
    state: ShopState = info.context.state
    return {
        "id": render.gid("Shop", state.id),
        "name": state.name,
        "email": f"owner@{state.domain}",
        "myshopifyDomain": state.domain,
        "currencyCode": "EUR",
        "ianaTimezone": "Europe/Amsterdam",
        "plan": {"displayName": "Basic", "partnerDevelopment": True, "shopifyPlus": False},
    }


def _order(_: Any, info: Info, id: str) -> dict[str, Any] | None:
    state: ShopState = info.context.state
    record = state.orders.get(_number(id, "Order"))
    return render.order_node(state, record) if record is not None else None


def _orders(_: Any, info: Info, **args: Any) -> dict[str, Any]:
    state: ShopState = info.context.state
    matches = order_filter(args.get("query"))
    sort_key = args.get("sortKey") or "ID"
    page = _orders_by_index(state, matches, args) if sort_key == "UPDATED_AT" else None
    if page is None:
        page = _orders_by_sorting(state, matches, sort_key, args)
    # render only the page: the others are not read
    page["nodes"] = [render.order_node(state, record) for record in page["nodes"]]
    for edge, node in zip(page["edges"], page["nodes"], strict=True):
        edge["node"] = node
    return page


def _orders_by_index(
    state: ShopState, matches: Callable[[OrderRecord], bool], args: Mapping[str, Any]
) -> dict[str, Any] | None:
    """A forward page by ``(updated_at, id)`` read off the store's index: bisect to the cursor (and
    to the ``updated_at`` bounds of the search), then walk only as far as the page reaches. The
    same answer as :func:`connection` over every matching order; None for what it does not cover
    (``last``/``before``, ``reverse``, a ``first`` of 0 or less, a cursor of another sort)."""
    first = args.get("first")
    if args.get("reverse") or args.get("last") is not None or args.get("before"):
        return None
    size = DEFAULT_PAGE if first is None else first
    if size <= 0:
        return None
    keys = state.by_updated.keys
    low, high = _updated_range(keys, args.get("query"))
    start = low
    after = args.get("after")
    if after:
        mark = decode_cursor(after)
        if len(mark) != 2 or not isinstance(mark[0], str) or not isinstance(mark[1], int):
            return None
        start = max(low, bisect.bisect_right(keys, (mark[0], mark[1])))
    window: list[tuple[list[Any], OrderRecord]] = []
    has_next = False
    for position in range(start, high):
        record = state.orders[keys[position][1]]
        if not matches(record):
            continue
        if len(window) == size:
            has_next = True
            break
        window.append((list(keys[position]), record))
    # an earlier match exists only between the search's lower bound and the cursor
    has_previous = bool(window) and any(
        matches(state.orders[keys[position][1]]) for position in range(start - 1, low - 1, -1)
    )
    return page_of(window, has_next=has_next, has_previous=has_previous)


_AFTER_EVERY_ID: Final = 2**63  # above every order id: (moment, this) sorts after every key at moment


def _updated_range(keys: list[UpdatedKey], query: str | None) -> tuple[int, int]:
    """The slice of ``keys`` that the search's ``updated_at`` terms allow (the filter still runs)."""
    low, high = 0, len(keys)
    for term in (query or "").split():
        name, _, value = term.partition(":")
        if name != "updated_at":
            continue
        operator = next((op for op in (">=", "<=", ">", "<") if value.startswith(op)), "")
        moment = updated_key(_moment(value[len(operator) :]), -1)[0]
        if operator in (">=", ""):
            low = max(low, bisect.bisect_left(keys, (moment, -1)))
        if operator == ">":
            low = max(low, bisect.bisect_right(keys, (moment, _AFTER_EVERY_ID)))
        if operator in ("<=", ""):
            high = min(high, bisect.bisect_right(keys, (moment, _AFTER_EVERY_ID)))
        if operator == "<":
            high = min(high, bisect.bisect_left(keys, (moment, -1)))
    return low, max(low, high)


def _orders_by_sorting(
    state: ShopState, matches: Callable[[OrderRecord], bool], sort_key: str, args: Mapping[str, Any]
) -> dict[str, Any]:
    """Any page in any order, by filtering and sorting every order (what the index does not cover)."""
    records = sorted((r for r in state.orders.values() if matches(r)), key=lambda r: _order_key(r, sort_key))
    if args.get("reverse"):
        records.reverse()
        rows = [([_reverse_marker(_order_key(r, sort_key))], r) for r in records]
    else:
        rows = [(_order_key(r, sort_key), r) for r in records]
    return connection(rows, args)


def _reverse_marker(key: list[Any]) -> str:
    # a key whose order is the reverse of ``key``'s, for reverse: true (strings of inverted characters)
    return "".join(chr(0x10FFFF - ord(char)) for char in json.dumps(key))


def _fulfillment_orders(_: Any, info: Info, **args: Any) -> dict[str, Any]:
    state: ShopState = info.context.state
    rows = []
    for record in state.sorted_orders():
        node = render.fulfillment_order_node(state, record)
        if not node["lineItems"] or (
            node["status"] in ("CLOSED", "CANCELLED") and not args.get("includeClosed")
        ):
            continue
        rows.append(([record.fulfillment_order_id], node))
    return connection(rows, args)


def _webhook_subscriptions(_: Any, info: Info, **args: Any) -> dict[str, Any]:
    state: ShopState = info.context.state
    topics = args.get("topics")
    uri = args.get("uri") or args.get("callbackUrl")
    rows = [
        ([sub.id], render.subscription_node(sub))
        for sub in sorted(state.subscriptions, key=lambda sub: sub.id)
        if (not topics or sub.topic.replace("/", "_").upper() in topics)
        and (uri is None or sub.address == uri)
    ]
    return connection(rows, args)


def _webhook_subscription(_: Any, info: Info, id: str) -> dict[str, Any] | None:
    state: ShopState = info.context.state
    number = _number(id, "WebhookSubscription")
    found = [sub for sub in state.subscriptions if sub.id == number]
    return render.subscription_node(found[0]) if found else None


def _user_error(error: StoreError, field: str) -> list[dict[str, Any]]:
    errors = error.errors
    if isinstance(errors, dict):
        return [
            {"field": [field, str(key)], "message": str(message[0] if isinstance(message, list) else message)}
            for key, message in errors.items()
        ]
    messages = errors if isinstance(errors, list) else [errors]
    return [{"field": [field], "message": str(message)} for message in messages]


def _fulfillment_create(_: Any, info: Info, fulfillment: dict[str, Any], **__: Any) -> dict[str, Any]:
    context: Context = info.context
    tracking = fulfillment.get("trackingInfo") or {}
    try:
        groups = [
            {
                "fulfillment_order_id": _number(group["fulfillmentOrderId"], "FulfillmentOrder"),
                "fulfillment_order_line_items": [
                    {"id": _number(item["id"], "FulfillmentOrderLineItem"), "quantity": item["quantity"]}
                    for item in group.get("fulfillmentOrderLineItems") or []
                ],
            }
            for group in fulfillment["lineItemsByFulfillmentOrder"]
        ]
        numbers = list(tracking.get("numbers") or []) or (
            [tracking["number"]] if tracking.get("number") else []
        )
        urls = list(tracking.get("urls") or []) or ([tracking["url"]] if tracking.get("url") else [])
        made = context.port.fulfil(
            context.state.name,
            {
                "fulfillment": {
                    "line_items_by_fulfillment_order": groups,
                    "notify_customer": bool(fulfillment.get("notifyCustomer")),
                    "tracking_info": {"company": tracking.get("company"), "numbers": numbers, "urls": urls},
                }
            },
        )
    except StoreError as error:
        return {"fulfillment": None, "userErrors": _user_error(error, "fulfillment")}
    return {"fulfillment": render.fulfillment_node(made), "userErrors": []}


def _webhook_create(
    _: Any,
    info: Info,
    topic: str,
    webhookSubscription: dict[str, Any],  # noqa: N803
) -> dict[str, Any]:
    context: Context = info.context
    uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl") or ""
    try:
        made = context.port.subscribe(
            context.state.name,
            topic.lower().replace("_", "/", 1),
            str(uri),
            api_version=context.version,
            signed_by=context.signed_by,
        )
    except StoreError as error:
        return {"webhookSubscription": None, "userErrors": _user_error(error, "webhookSubscription")}
    return {"webhookSubscription": render.subscription_node(made), "userErrors": []}


def _webhook_delete(_: Any, info: Info, id: str) -> dict[str, Any]:
    context: Context = info.context
    try:
        context.port.unsubscribe(context.state.name, _number(id, "WebhookSubscription"))
    except StoreError:
        return {
            "deletedWebhookSubscriptionId": None,
            "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}],
        }
    return {"deletedWebhookSubscriptionId": id, "userErrors": []}


@cache
def schema() -> GraphQLSchema:
    built = build_schema(SDL)
    roots: dict[str, dict[str, Callable[..., Any]]] = {
        "QueryRoot": {
            "shop": _shop,
            "order": _order,
            "orders": _orders,
            "fulfillmentOrders": _fulfillment_orders,
            "webhookSubscriptions": _webhook_subscriptions,
            "webhookSubscription": _webhook_subscription,
        },
        "Mutation": {
            "fulfillmentCreate": _fulfillment_create,
            "webhookSubscriptionCreate": _webhook_create,
            "webhookSubscriptionDelete": _webhook_delete,
        },
    }
    for type_name, resolvers in roots.items():
        root = built.get_type(type_name)
        assert isinstance(root, GraphQLObjectType)
        for name, resolver in resolvers.items():
            root.fields[name].resolve = resolver
    for named in built.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name in roots:
            continue
        for field in named.fields.values():
            target = get_named_type(field.type)
            if target.name.endswith("Connection"):
                field.resolve = _nested_connection
            elif "first" in field.args:
                field.resolve = _limited_list
    return built


# -- cost -------------------------------------------------------------------------------------


class _Costing:
    def __init__(self, document: DocumentNode, variables: VariableValues) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = variables

    def selection(
        self, selection_set: SelectionSetNode | None, parent: GraphQLObjectType, data: Any
    ) -> float:
        if selection_set is None:
            return 0.0
        total = 0.0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                field = parent.fields.get(node.name.value)
                if field is not None:
                    value = data.get((node.alias or node.name).value) if isinstance(data, Mapping) else None
                    total += self.field(node, field, value, actual=data is not None)
            elif isinstance(node, InlineFragmentNode):
                total += self.selection(node.selection_set, parent, data)
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is not None:
                    total += self.selection(fragment.selection_set, parent, data)
        return total

    def field(self, node: FieldNode, field: GraphQLField, value: Any, *, actual: bool) -> float:
        named = get_named_type(field.type)
        if not isinstance(named, GraphQLObjectType):
            return 0.0
        args = get_argument_values(field, node, self.variables)
        if named.name.endswith("Connection"):
            node_type = named.fields["nodes"].type
            node_object = get_named_type(node_type)
            assert isinstance(node_object, GraphQLObjectType)
            per_node = 1 + self.selection(_nodes_selection(node, self.fragments), node_object, None)
            if actual:
                count = (
                    len(value.get("nodes") or value.get("edges") or []) if isinstance(value, Mapping) else 0
                )
            else:
                count = args.get("first") or args.get("last") or DEFAULT_PAGE
            return 2 + count * per_node
        unwrapped = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if isinstance(unwrapped, GraphQLList):
            per_item = 1 + self.selection(node.selection_set, named, None)
            count = len(value) if actual and isinstance(value, list) else (args.get("first") or 1)
            return count * per_item
        if actual and value is None:
            return 0.0
        return 1 + self.selection(node.selection_set, named, value if actual else None)


def _nodes_selection(
    node: FieldNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> SelectionSetNode | None:
    """The selection made on one node of a connection (``nodes { ... }`` or ``edges { node { ... } }``)."""
    selections: list[Any] = []

    def walk(selection_set: SelectionSetNode | None, depth: int) -> None:
        for child in selection_set.selections if selection_set else ():
            if isinstance(child, FieldNode):
                if depth == 0 and child.name.value == "nodes" and child.selection_set:
                    selections.extend(child.selection_set.selections)
                elif depth == 0 and child.name.value == "edges":
                    walk(child.selection_set, 1)
                elif depth == 1 and child.name.value == "node" and child.selection_set:
                    selections.extend(child.selection_set.selections)
            elif isinstance(child, InlineFragmentNode):
                walk(child.selection_set, depth)
            elif isinstance(child, FragmentSpreadNode) and child.name.value in fragments:
                walk(fragments[child.name.value].selection_set, depth)

    walk(node.selection_set, 0)
    return SelectionSetNode(selections=tuple(selections)) if selections else None


def operation_cost(
    document: DocumentNode, operation: OperationDefinitionNode, variables: VariableValues, data: Any = None
) -> float:
    if operation.operation == OperationType.MUTATION:
        return float(MUTATION_COST)
    root = schema().query_type
    assert root is not None
    return _Costing(document, variables).selection(operation.selection_set, root, data)


# -- one request -------------------------------------------------------------------------------

DOCUMENTS_KEPT: Final = 256  # parsed and validated query texts; a client sends a handful, again and again


@lru_cache(maxsize=DOCUMENTS_KEPT)
def checked_document(text: str) -> tuple[DocumentNode, tuple[GraphQLError, ...]]:
    """``text`` parsed, with the schema's validation errors (none: it may run). Raises the parse error.

    Kept per text: parsing and validating a listing query cost more than running it, and a client
    sends the same few documents with other variables.
    """
    document = parse(text)
    return document, tuple(validate(schema(), document))


def _pick_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((op for op in operations if op.name and op.name.value == name), None)
    return operations[0] if len(operations) == 1 else None


def handle(
    port: GraphQLPort, state: ShopState, body: Any, *, version: str, signed_by: str, now: datetime
) -> dict[str, Any]:
    """The JSON answer to one GraphQL request (always HTTP 200, as Shopify answers query errors)."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return {
            "errors": [{"message": "Parameter Missing or Invalid", "extensions": {"code": "BAD_REQUEST"}}]
        }
    try:
        document, problems = checked_document(body["query"])
    except GraphQLError as error:
        return {"errors": [error.formatted]}
    if problems:
        return {"errors": [problem.formatted for problem in problems]}
    operation = _pick_operation(document, body.get("operationName"))
    if operation is None:
        return {"errors": [{"message": "An operation name is required when sending several operations."}]}
    inputs = body.get("variables") or {}
    coerced = get_variable_values(
        schema(), operation.variable_definitions or (), inputs if isinstance(inputs, dict) else {}
    )
    if isinstance(coerced, list):
        return {"errors": [error.formatted for error in coerced]}
    try:
        requested = operation_cost(document, operation, coerced)
    except GraphQLError as error:
        return {"errors": [error.formatted]}
    if requested > MAX_QUERY_COST:
        message = f"Query cost is {requested:.0f}, which exceeds the single query max cost limit"
        message += f" ({MAX_QUERY_COST})."
        return {
            "errors": [{"message": message, "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested}}],
            "extensions": {"cost": _cost(requested, None, state)},
        }
    taken = port.run_locked(lambda: _take(state, requested, now))
    if not taken:
        return {
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": {"cost": _cost(requested, None, state)},
        }
    context = Context(port, state, version=version, signed_by=signed_by)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def run() -> ExecutionResult:
        if operation.operation is OperationType.QUERY:
            try:  # the fast executor; graphql-core's answers what it does not cover, errors above all
                return ExecutionResult(
                    data=fastexec.execute_query(schema(), fragments, operation, coerced, context)
                )
            except fastexec.Unsupported:
                pass
        result = execute(
            schema(),
            document,
            context_value=context,
            variable_values=inputs,
            operation_name=body.get("operationName"),
        )
        assert isinstance(result, ExecutionResult)  # every resolver is synchronous
        return result

    result = run() if operation.operation == OperationType.MUTATION else port.run_locked(run)
    answer: dict[str, Any] = {}
    if result.errors:
        answer["errors"] = [error.formatted for error in result.errors]
    answer["data"] = result.data
    actual = (
        requested
        if operation.operation == OperationType.MUTATION
        else operation_cost(document, operation, coerced, result.data or {})
    )
    port.run_locked(lambda: _refund(state, requested - actual))
    answer["extensions"] = {"cost": _cost(requested, actual, state)}
    return answer


def _take(state: ShopState, cost: float, now: datetime) -> bool:
    state.cost.refill(now)
    if cost > state.cost.available:
        return False
    state.cost.available -= cost
    return True


def _refund(state: ShopState, points: float) -> None:
    state.cost.available = min(state.cost.maximum, state.cost.available + max(0.0, points))


def _cost(requested: float, actual: float | None, state: ShopState) -> dict[str, Any]:
    return {
        "requestedQueryCost": round(requested),
        "actualQueryCost": round(actual) if actual is not None else None,
        "throttleStatus": state.cost.status(),
    }
