"""The Admin API routes of the Shopify simulator: the token endpoint, REST (auth, leaky bucket,
errors as Shopify shapes them) and GraphQL (``graphql.json``, see graphql.py).

Routes read the raw body themselves (instead of FastAPI body models) so every error, a malformed
body included, comes back as Shopify's ``{"errors": ...}`` rather than FastAPI's ``{"detail": ...}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from sandbox.shopify import fulfilment, graphql, oauth, paging
from sandbox.shopify.errors import StoreError
from sandbox.shopify.ports import ApiPort
from sandbox.shopify.state import SHOP_TIMEZONE, OrderRecord, ShopState

ACCESS_TOKEN_HEADER = "X-Shopify-Access-Token"
CALL_LIMIT_HEADER = "X-Shopify-Shop-Api-Call-Limit"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
THROTTLED = (
    "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
)
DEFAULT_LIMIT = 50
MAX_LIMIT = 250
PAGE_PARAMS = ("limit", "fields")  # the only parameters that may go with page_info

# (status, body, extra headers)
Answer = tuple[int, Any, dict[str, str]]
Work = Callable[[ShopState, Request, Any], Answer]


def build_api_router(sim: ApiPort) -> APIRouter:
    router = APIRouter()
    root = "/{shop}/admin/api/{version}"

    def route(path: str, method: str, work: Work, status: int = 200) -> None:
        async def endpoint(shop: str, request: Request) -> Response:
            raw = await request.body()
            return await run_in_threadpool(_answer, sim, shop, request, raw, work)

        router.add_api_route(root + path, endpoint, methods=[method], include_in_schema=False)

    @router.post("/{shop}/admin/oauth/access_token", include_in_schema=False)
    async def access_token(shop: str, request: Request) -> Response:
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        query = request.url.query.encode()
        return await run_in_threadpool(_issue_token, sim, shop, raw or query, content_type if raw else "")

    @router.post(root + "/graphql.json", include_in_schema=False)
    async def graphql_endpoint(shop: str, version: str, request: Request) -> Response:
        raw = await request.body()
        return await run_in_threadpool(_graphql, sim, shop, version, request, raw)

    # reads run under the simulator's lock; changes go through the simulator, which signs webhooks
    route("/orders.json", "GET", lambda s, r, b: sim.run_locked(lambda: _list_orders(s, r)))
    route("/orders/count.json", "GET", lambda s, r, b: sim.run_locked(lambda: _count_orders(s, r)))
    route("/orders/{order_id}.json", "GET", lambda s, r, b: sim.run_locked(lambda: _get_order(s, r)))
    route(
        "/orders/{order_id}/fulfillment_orders.json",
        "GET",
        lambda s, r, b: sim.run_locked(lambda: _fulfillment_orders(s, r)),
    )
    route(
        "/orders/{order_id}/fulfillments.json",
        "GET",
        lambda s, r, b: sim.run_locked(
            lambda: (200, {"fulfillments": s.order(r.path_params["order_id"]).data["fulfillments"]}, {})
        ),
    )
    route(
        "/fulfillments.json",
        "POST",
        lambda s, r, b: (201, {"fulfillment": sim.fulfil(s.name, _object(b))}, {}),
    )
    route("/webhooks.json", "GET", lambda s, r, b: sim.run_locked(lambda: _list_webhooks(s, r)))
    route("/webhooks.json", "POST", lambda s, r, b: _create_webhook(sim, s, r, b))
    route("/webhooks/{webhook_id}.json", "GET", lambda s, r, b: sim.run_locked(lambda: _get_webhook(s, r)))
    route("/webhooks/{webhook_id}.json", "DELETE", lambda s, r, b: _delete_webhook(sim, s, r))
    return router


def _issue_token(sim: ApiPort, shop: str, raw: bytes, content_type: str) -> Response:
    state = sim.shop(shop)
    try:
        fields = oauth.grant_fields(raw, content_type)
        answer = sim.run_locked(lambda: oauth.issue_token(state, fields, sim.clock.now()))
    except StoreError as error:
        return JSONResponse(error.errors, status_code=error.status)
    return JSONResponse(answer)


def _authorized(sim: ApiPort, state: ShopState, request: Request) -> oauth.TokenKind | None:
    token = request.headers.get(ACCESS_TOKEN_HEADER)
    return sim.run_locked(lambda: oauth.authorize(state, token, sim.clock.now()))


def _graphql(sim: ApiPort, shop: str, version: str, request: Request, raw: bytes) -> Response:
    state = sim.shop(shop)
    kind = _authorized(sim, state, request)
    if kind is None:
        return JSONResponse({"errors": INVALID_TOKEN}, status_code=401)
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        return JSONResponse({"errors": "Unparsable JSON body"}, status_code=400)
    answer = graphql.handle(
        sim, state, body, version=version, signed_by="app" if kind == "app" else "shop", now=sim.clock.now()
    )
    headers = {"X-Shopify-API-Version": version}
    try:  # orjson: a page of orders is encoded in a fifth of the standard encoder's time
        content = orjson.dumps(answer)
    except TypeError:  # what orjson does not encode, the standard encoder tries
        return JSONResponse(answer, headers=headers)
    return Response(content, media_type="application/json", headers=headers)


def _answer(sim: ApiPort, shop: str, request: Request, raw: bytes, work: Work) -> Response:
    state = sim.shop(shop)
    kind = _authorized(sim, state, request)
    if kind is None:
        return JSONResponse({"errors": INVALID_TOKEN}, status_code=401)
    request.state.signed_by = "app" if kind == "app" else "shop"
    wait, limit_header = sim.run_locked(lambda: (state.bucket.take(sim.clock.now()), state.bucket.header()))
    headers = {CALL_LIMIT_HEADER: limit_header} if limit_header else {}
    if wait is not None:
        return JSONResponse(
            {"errors": THROTTLED}, status_code=429, headers={**headers, "Retry-After": f"{wait}"}
        )
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        return JSONResponse({"errors": "Unparsable JSON body"}, status_code=400, headers=headers)
    try:
        status, payload, extra = work(state, request, body)
    except StoreError as error:
        status, payload, extra = error.status, {"errors": error.errors}, {}
    return JSONResponse(payload, status_code=status, headers={**headers, **extra})


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise StoreError(400, "Required parameter missing or invalid")
    return body


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(DEFAULT_LIMIT))
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise StoreError(400, {"limit": [f"must be between 1 and {MAX_LIMIT}"]})
    return limit


def _moment(filters: dict[str, str], name: str) -> datetime | None:
    if name not in filters:
        return None
    try:
        moment = datetime.fromisoformat(filters[name])
    except ValueError:
        raise StoreError(400, {name: ["is not a valid ISO 8601 date"]}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHOP_TIMEZONE)


def _matcher(filters: dict[str, str]) -> Callable[[OrderRecord], bool]:
    """The listing filters Shopify documents for orders.json (the ones a sync client uses)."""
    status = filters.get("status", "open")  # Shopify's default hides closed and cancelled orders
    if status not in ("open", "closed", "cancelled", "any"):
        raise StoreError(400, {"status": ["is invalid"]})
    bounds = {name: _moment(filters, name) for name in ("updated_at_min", "updated_at_max")}
    created = {name: _moment(filters, name) for name in ("created_at_min", "created_at_max")}
    try:
        since_id = int(filters.get("since_id") or 0)
        ids = (
            {int(part) for part in filters["ids"].split(",") if part.strip()} if filters.get("ids") else None
        )
    except ValueError:
        raise StoreError(400, {"ids": ["must be numbers"]}) from None
    financial = set(filters.get("financial_status", "any").split(","))

    def matches(record: OrderRecord) -> bool:
        data = record.data
        if status == "open" and (data["closed_at"] or data["cancelled_at"]):
            return False
        if (status == "closed" and not data["closed_at"]) or (
            status == "cancelled" and not data["cancelled_at"]
        ):
            return False
        if "any" not in financial and data["financial_status"] not in financial:
            return False
        if data["id"] <= since_id or (ids is not None and data["id"] not in ids):
            return False
        made = datetime.fromisoformat(data["created_at"])
        low, high = bounds["updated_at_min"], bounds["updated_at_max"]
        return not (
            (low and record.updated < low)
            or (high and record.updated > high)
            or (created["created_at_min"] and made < created["created_at_min"])
            or (created["created_at_max"] and made > created["created_at_max"])
        )

    return matches


def _project(data: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields:
        return data
    wanted = {name.strip() for name in fields.split(",")}
    return {key: value for key, value in data.items() if key in wanted}


def _list_orders(state: ShopState, request: Request) -> Answer:
    query = dict(request.query_params)
    limit = _limit(request)
    fields = query.get("fields")
    page_info = query.pop("page_info", None)
    cursor: paging.Cursor | None = None
    if page_info is not None:
        extra = sorted(set(query) - set(PAGE_PARAMS))
        if extra:
            raise StoreError(400, {"page_info": [f"cannot be combined with {', '.join(extra)}"]})
        try:
            cursor = paging.decode(page_info)
        except paging.PageInfoError:
            raise StoreError(400, {"page_info": ["Invalid value."]}) from None
        filters = cursor.filters
    else:
        filters = {key: value for key, value in query.items() if key not in PAGE_PARAMS}
    matches = _matcher(filters)
    rows = [(record.key, record) for record in state.sorted_orders() if matches(record)]
    page = paging.select(rows, cursor, limit)

    def link(key: paging.Key, direction: str, rel: str) -> str:
        params = {"limit": str(limit), "page_info": paging.encode(paging.Cursor(key, direction, filters))}
        if fields:
            params["fields"] = fields
        return f'<{request.url.replace(query=urlencode(params))}>; rel="{rel}"'

    links = []
    if page.has_previous and page.first is not None:
        links.append(link(page.first, "previous", "previous"))
    if page.has_next and page.last is not None:
        links.append(link(page.last, "next", "next"))
    headers = {"Link": ", ".join(links)} if links else {}
    return 200, {"orders": [_project(record.data, fields) for record in page.items]}, headers


def _count_orders(state: ShopState, request: Request) -> Answer:
    matches = _matcher({k: v for k, v in request.query_params.items() if k not in PAGE_PARAMS})
    return 200, {"count": sum(1 for record in state.orders.values() if matches(record))}, {}


def _get_order(state: ShopState, request: Request) -> Answer:
    record = state.order(request.path_params["order_id"])
    return 200, {"order": _project(record.data, request.query_params.get("fields"))}, {}


def _fulfillment_orders(state: ShopState, request: Request) -> Answer:
    record = state.order(request.path_params["order_id"])
    fulfillment_order = fulfilment.fulfillment_order(state, record)
    return 200, {"fulfillment_orders": [fulfillment_order] if fulfillment_order["line_items"] else []}, {}


def _list_webhooks(state: ShopState, request: Request) -> Answer:
    topic, address = request.query_params.get("topic"), request.query_params.get("address")
    hooks = [
        sub.as_json()
        for sub in state.subscriptions
        if (topic is None or sub.topic == topic) and (address is None or sub.address == address)
    ]
    return 200, {"webhooks": hooks}, {}


def _get_webhook(state: ShopState, request: Request) -> Answer:
    wanted = request.path_params["webhook_id"]
    for sub in state.subscriptions:
        if str(sub.id) == wanted:
            return 200, {"webhook": sub.as_json()}, {}
    raise StoreError(404, "Not Found")


def _create_webhook(sim: ApiPort, state: ShopState, request: Request, body: Any) -> Answer:
    hook = _object(body).get("webhook")
    if not isinstance(hook, dict):
        raise StoreError(400, {"webhook": "Required parameter missing or invalid"})
    subscription = sim.subscribe(
        state.name,
        str(hook.get("topic") or ""),
        str(hook.get("address") or ""),
        api_version=request.path_params["version"],
        signed_by=request.state.signed_by,
    )
    return 201, {"webhook": subscription.as_json()}, {}


def _delete_webhook(sim: ApiPort, state: ShopState, request: Request) -> Answer:
    try:
        webhook_id = int(request.path_params["webhook_id"])
    except ValueError:
        raise StoreError(404, "Not Found") from None
    sim.unsubscribe(state.name, webhook_id)
    return 200, {}, {}
