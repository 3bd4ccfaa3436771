"""Shopify's GraphQL Admin API as a declared order source.

Every call is ``POST /admin/api/{version}/graphql.json`` (REST is legacy since 2024-10). Incremental
listing is ``orders(query: "updated_at:>='…'", sortKey: UPDATED_AT)`` in cursor pages
(``pageInfo.endCursor``); the orders come back in the REST shape (:mod:`adapters.shopify.graphql`).

Shopify meters GraphQL by calculated query cost, in a bucket per app and store that every answer
describes (``extensions.cost.throttleStatus``). :class:`~adapters.shopify.throttle.CostBucket` keeps
that status where every worker sees it and waits before a call the bucket cannot pay for; a call
refused with ``THROTTLED`` is a ``RateLimited`` that waits for the missing points and spends no retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final

import httpx
import orjson
import structlog

from adapters.coerce import as_list, as_mapping
from adapters.errors import (
    ApiRejected,
    AuthenticationFailed,
    OutcomeUnknown,
    RateLimited,
    TransientError,
)
from adapters.retry import call_with_retries
from adapters.settings import ShopConnection
from adapters.shopify.auth import build_auth
from adapters.shopify.graphql import (
    LINE_ITEMS_QUERY,
    ORDER_QUERY,
    ORDERS_QUERY,
    order_from_graphql,
    order_gid,
)
from adapters.shopify.throttle import CostBucket, ThrottleStatus, requested_cost, throttled_wait
from adapters.source import OrderSource, PageRequest, Paginator, Record
from adapters.types import SHOPIFY

log = structlog.get_logger(__name__)

GRAPHQL_PATH: Final = "graphql.json"
MAX_PAGE_SIZE: Final = 250
# orders per page until an answer states what a page costs: one order with its first lines costs a
# few dozen points, and Shopify refuses a single query over 1000 (the actual cost, usually far
# less, is refunded)
DEFAULT_PAGE_SIZE: Final = 10
# once an answer stated what a listing page of n orders costs, the next pages ask for as many orders
# as fit in this many points (below the 1000 of a single query, for orders that cost a little more
# than the ones before): about 23 orders a page instead of 10, so a resync of 100,000 orders makes
# less than half the requests. A source given a ``page_size`` keeps to it.
LISTING_COST_TARGET: Final = 800.0
# a poll mostly finds a few changed orders: its first page asks for this many (costing a third of a
# full page), the pages after it for ``page_size``
FIRST_PAGE_SIZE: Final = 3
FIRST_GUESS_COST: Final = 50.0  # points, before an answer told us what an operation costs
# operation -> the requestedQueryCost Shopify last stated for it (the same for every shop and source)
KNOWN_COSTS: dict[str, float] = {}
# error codes (errors[].extensions.code) that say what to do
THROTTLED: Final = "THROTTLED"
SERVER_ERRORS: Final = frozenset({"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"})
ACCESS_ERRORS: Final = frozenset({"ACCESS_DENIED", "UNAUTHORIZED", "FORBIDDEN"})


class CursorPaginator(Paginator):
    """The next page starts after ``pageInfo.endCursor`` of the connection at ``data.<field>``.

    ``data_of`` reads a response's ``data`` (the source's, which decodes each body once).
    """

    def __init__(
        self,
        field: str,
        *,
        first: int | Callable[[], int],
        data_of: Callable[[httpx.Response], Mapping[str, Any]] | None = None,
    ) -> None:
        """``first``: the size of the pages after the first, or what says it page by page."""
        self._field = field
        self._first = first
        self._data_of = data_of or _data

    def next_page(
        self, request: PageRequest, response: httpx.Response, records: list[Record]
    ) -> PageRequest | None:
        info = as_mapping(as_mapping(self._data_of(response).get(self._field)).get("pageInfo"))
        cursor = info.get("endCursor")
        if not info.get("hasNextPage") or not isinstance(cursor, str) or not cursor:
            return None
        first = self._first() if callable(self._first) else self._first
        return PageRequest(request.url, {**request.params, "after": cursor, "first": first})


def format_since(since: datetime) -> str:
    """UTC ISO 8601 for a search query; a naive ``since`` is taken as UTC."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ShopifySource(OrderSource):
    """Orders of one Shopify store over the GraphQL Admin API."""

    platform = SHOPIFY
    orders_path = GRAPHQL_PATH
    replication_key = "updated_at"
    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE

    def __init__(
        self, settings: ShopConnection, *, clock: Callable[[], float] = time.time, **options: Any
    ) -> None:
        """``clock`` (epoch seconds) dates the shared cost bucket; the other options are
        :class:`~adapters.source.OrderSource`'s (``shared=`` among them)."""
        super().__init__(settings, **options)
        self.bucket = CostBucket(
            self.shared, self.settings.url, sleep=self._sleep, clock=clock, source=settings.name
        )
        # the last answer with its decoded body: a listing page is read three times (the call, the
        # page's orders, the next cursor), and decoding a page of orders is most of the client's
        # work per page
        self._decoded: tuple[httpx.Response, dict[str, Any]] | None = None
        # points per order of a listing page, from the cost Shopify stated for the last one
        self._order_cost: float | None = None

    def base_url(self) -> str:
        return f"{self.settings.url.rstrip('/')}/admin/api/{self.settings.api_version}/"

    def auth(self) -> httpx.Auth:
        return build_auth(self.settings, store=self.shared, sleep=self._sleep)

    def paginator(self) -> Paginator:
        return CursorPaginator("orders", first=self.listing_page_size, data_of=self._data_of)

    def listing_page_size(self) -> int:
        """Orders per listing page after the first: ``page_size`` when one was given (or nothing is
        known yet), else as many as fit in :data:`LISTING_COST_TARGET` at the stated cost per order."""
        if "page_size" in vars(self) or self._order_cost is None:
            return self.page_limit()
        return max(1, min(MAX_PAGE_SIZE, int(LISTING_COST_TARGET // self._order_cost)))

    def listing_params(self, since: datetime | None) -> dict[str, Any]:
        # no status filter: unlike REST's orders.json, GraphQL's orders lists closed and cancelled
        # orders too, and we must see them
        params: dict[str, Any] = {"first": min(FIRST_PAGE_SIZE, self.page_limit())}
        if since is not None:
            params["query"] = f"updated_at:>='{format_since(since)}'"
        return params

    def fetch_page(self, request: PageRequest) -> httpx.Response:
        return self._call(ORDERS_QUERY, dict(request.params), operation="orders")[1]

    def parse_page(self, response: httpx.Response) -> list[Record]:
        connection = self._data_of(response).get("orders")
        nodes = as_mapping(connection).get("nodes")
        if not isinstance(nodes, list):
            raise TransientError("shopify answered a page without 'orders'", service=self.platform)
        return [self._complete(node) for node in nodes if isinstance(node, Mapping)]

    def order_path(self, shop_order_id: str) -> str:
        return GRAPHQL_PATH

    def get_order(self, shop_order_id: str) -> Record:
        data = self.graphql(ORDER_QUERY, {"id": order_gid(shop_order_id)}, operation="order")
        node = data.get("order")
        if not isinstance(node, Mapping):
            raise ApiRejected(
                f"shopify has no order {shop_order_id}",
                service=self.platform,
                status=404,
                error_message="Not Found",
                method="POST",
                url=self.base_url() + GRAPHQL_PATH,
            )
        return self._complete(node)

    def find_order_by_number(self, number: str) -> Record | None:
        """The order people know as ``number`` (its name, ``#1009``; ``1009`` finds it too), or None.

        ``orders(query: "name:…")`` may match loosely, so only an order whose name is ``number``
        (with or without its ``#``) counts; a name two orders share answers ``ApiRejected`` 409.
        """
        wanted = number.strip()
        query = f"name:'{wanted}'"
        data = self.graphql(ORDERS_QUERY, {"first": 2, "query": query}, operation="orders")
        nodes = [
            node
            for node in as_list(as_mapping(data.get("orders")).get("nodes"))
            if isinstance(node, Mapping) and _same_name(node.get("name"), wanted)
        ]
        if len(nodes) > 1:
            raise ApiRejected(
                f"shopify has more than one order named {wanted}",
                service=self.platform,
                status=409,
                error_message="ambiguous order name",
            )
        return self._complete(nodes[0]) if nodes else None

    # -- GraphQL ---------------------------------------------------------------------------------

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, operation: str, idempotent: bool = True
    ) -> dict[str, Any]:
        """The ``data`` of one GraphQL call, retried as :data:`adapters.retry.SHOP_REQUEST` says.

        ``operation`` names the call for the cost estimate. A mutation that creates something passes
        ``idempotent=False``: a 5xx or lost answer then raises ``OutcomeUnknown`` (a THROTTLED one
        was never run, so it waits and goes again). Errors in the answer raise the error tree.
        """
        return self._call(query, variables or {}, operation=operation, idempotent=idempotent)[0]

    def _call(
        self, query: str, variables: dict[str, Any], *, operation: str, idempotent: bool = True
    ) -> tuple[dict[str, Any], httpx.Response]:
        return call_with_retries(
            partial(self._call_once, query, variables, operation, idempotent),
            policy=self._retry_policy,
            sleep=self._sleep,
            retry_on=(RateLimited, TransientError),
            give_up_on=(OutcomeUnknown,),
            event="shop_request_retried",
            platform=self.platform,
            source=self.settings.name,
        )

    def _call_once(
        self, query: str, variables: dict[str, Any], operation: str, idempotent: bool
    ) -> tuple[dict[str, Any], httpx.Response]:
        cost = KNOWN_COSTS.get(operation, FIRST_GUESS_COST)
        first = variables.get("first")
        page = first if operation == "orders" and isinstance(first, int) and first > 0 else None
        if page is not None and self._order_cost is not None:
            cost = self._order_cost * page  # a page of another size than the last costs in proportion
        self.bucket.acquire(cost)
        response = self._send_once(
            "POST", GRAPHQL_PATH, idempotent=idempotent, json={"query": query, "variables": variables}
        )
        body = _json_object(response)
        self._decoded = (response, body)
        extensions = body.get("extensions")
        status = ThrottleStatus.from_extensions(extensions)
        if status is not None:
            self.bucket.observe(status)
        stated = requested_cost(extensions)
        if stated is not None:
            KNOWN_COSTS[operation] = stated
            if page is not None:
                self._order_cost = stated / page  # the connection's own 2 points spread over its orders
        errors = body.get("errors")
        if errors:
            raise self._answer_error(
                errors, response, cost=stated or cost, status=status, operation=operation
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise TransientError(
                "shopify answered without data", service=self.platform, status=response.status_code
            )
        return data, response

    def _answer_error(
        self,
        errors: Any,
        response: httpx.Response,
        *,
        cost: float,
        status: ThrottleStatus | None,
        operation: str,
    ) -> Exception:
        items = [item for item in as_list(errors) if isinstance(item, Mapping)] or [{"message": str(errors)}]
        codes = {str(as_mapping(item.get("extensions")).get("code") or "") for item in items}
        message = "; ".join(str(item.get("message") or "") for item in items)[:300]
        context: dict[str, Any] = {
            "service": self.platform,
            "status": response.status_code,
            "method": "POST",
            "url": str(response.request.url),
            "error_message": message,
        }
        if THROTTLED in codes:
            return RateLimited(
                f"shopify throttled {operation}", retry_after=throttled_wait(cost, status), **context
            )
        if codes & SERVER_ERRORS:
            return TransientError(f"shopify failed {operation}", **context)
        if codes & ACCESS_ERRORS:
            return AuthenticationFailed(
                f"shopify refused {operation}: the app lacks an access scope", **context
            )
        return ApiRejected(f"shopify rejected {operation}", **context)

    def _data_of(self, response: httpx.Response) -> Mapping[str, Any]:
        """``data`` of ``response``, decoded once (the last answer's body is kept)."""
        decoded = self._decoded
        body = decoded[1] if decoded is not None and decoded[0] is response else _json_object(response)
        return as_mapping(body.get("data"))

    def _complete(self, node: Mapping[str, Any]) -> Record:
        """The order in the REST shape, with every line (past the first page of lines too)."""
        order = dict(node)
        lines = as_mapping(order.get("lineItems"))
        info = as_mapping(lines.get("pageInfo"))
        if info.get("hasNextPage"):
            nodes = list(as_list(lines.get("nodes")))
            cursor = info.get("endCursor")
            while isinstance(cursor, str) and cursor:
                data = self.graphql(
                    LINE_ITEMS_QUERY, {"id": order.get("id"), "after": cursor}, operation="order_lines"
                )
                more = as_mapping(as_mapping(data.get("order")).get("lineItems"))
                nodes.extend(as_list(more.get("nodes")))
                page = as_mapping(more.get("pageInfo"))
                following = page.get("endCursor") if page.get("hasNextPage") else None
                cursor = following if following != cursor else None
            order["lineItems"] = {"nodes": nodes}
        return order_from_graphql(order)


def _same_name(name: Any, wanted: str) -> bool:
    return isinstance(name, str) and name.strip().lstrip("#") == wanted.lstrip("#")


# an integer of 20 digits or more may not fit 64 bits, which orjson reads as a float: such a body takes
# the standard parser (as adapters/jsonbody.py does), found by mapping every digit to "0"
_DIGITS_AS_ZERO: Final = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_TWENTY_DIGITS: Final = b"0" * 20


def _json_object(response: httpx.Response) -> dict[str, Any]:
    content = response.content
    try:
        # orjson: a page of orders in a fraction of the standard parser's time; what it refuses (or
        # might read differently) is the standard parser's, which also knows other encodings
        body = orjson.loads(content) if _TWENTY_DIGITS not in content.translate(_DIGITS_AS_ZERO) else None
    except orjson.JSONDecodeError:
        body = None
    try:
        body = response.json() if body is None else body
    except ValueError:
        raise TransientError("shopify answered a body that is not JSON", service=SHOPIFY) from None
    if not isinstance(body, dict):
        raise TransientError("shopify answered a non-object body", service=SHOPIFY)
    return body


def _data(response: httpx.Response) -> Mapping[str, Any]:
    return as_mapping(_json_object(response).get("data"))
