"""WooCommerce's REST v3 API (mounted at ``/woocommerce``).

``/{shop}/wp-json/wc/v3/orders``, ``orders/{id}``, ``orders/{id}/refunds``, ``orders/{id}/notes``,
``webhooks``, ``webhooks/{id}``. Each request first meets the gate (faults, rate limit, keys).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse

from sandbox.woocommerce.errors import WooError, error_response
from sandbox.woocommerce.gate import ApiCall
from sandbox.woocommerce.ports import ApiPort

API = "/{shop}/wp-json/wc/v3"
HIDDEN_QUERY = ("consumer_key", "consumer_secret")  # never echoed back in Link headers
HIDDEN_PREFIX = "oauth_"  # nor a signature, nonce or timestamp: a next page is signed afresh


def _id(raw: str) -> int:
    if not raw.isdigit():
        raise WooError(404, "rest_no_route", "No route was found matching the URL and request method.")
    return int(raw)


def build_api_router(sim: ApiPort) -> APIRouter:
    router = APIRouter()

    def answer(request: Request, action: Callable[[], Any], status: int = 200) -> Response:
        call = ApiCall(
            shop=str(request.path_params.get("shop", "")),
            method=request.method,
            url=str(request.url.replace(query="", fragment="")),
            path=request.url.path,
            raw_query=request.url.query,
            headers=request.headers,
            query=request.query_params,
        )
        try:
            sim.gate(call)
            result = action()
        except WooError as error:
            return error_response(error)
        return result if isinstance(result, Response) else JSONResponse(result, status_code=status)

    @router.get(API + "/orders")
    def list_orders(shop: str, request: Request) -> Response:
        def action() -> Response:
            query = {key: request.query_params.getlist(key) for key in request.query_params}
            orders, total, pages, page = sim.list_orders(shop, query)
            headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
            link = _link_header(request, page, pages)
            if link:
                headers["Link"] = link
            return JSONResponse(orders, headers=headers)

        return answer(request, action)

    @router.get(API + "/orders/{order_id}")
    def get_order(shop: str, order_id: str, request: Request) -> Response:
        return answer(request, lambda: sim.get_order(shop, _id(order_id)))

    @router.put(API + "/orders/{order_id}")
    @router.patch(API + "/orders/{order_id}")
    @router.post(API + "/orders/{order_id}")
    def update_order(
        shop: str, order_id: str, request: Request, body: dict[str, Any] | None = Body(default=None)
    ) -> Response:
        fields = body or {}
        return answer(
            request,
            lambda: sim.edit(
                shop,
                _id(order_id),
                billing=fields.get("billing"),
                shipping=fields.get("shipping"),
                customer_note=fields.get("customer_note"),
                status=fields.get("status"),
            ),
        )

    @router.delete(API + "/orders/{order_id}")
    def delete_order(shop: str, order_id: str, request: Request) -> Response:
        force = request.query_params.get("force", "false").lower() in ("true", "1")
        return answer(request, lambda: (sim.delete if force else sim.trash)(shop, _id(order_id)))

    @router.get(API + "/orders/{order_id}/refunds")
    def list_refunds(shop: str, order_id: str, request: Request) -> Response:
        return answer(request, lambda: sim.refunds(shop, _id(order_id)))

    @router.get(API + "/orders/{order_id}/notes")
    def list_notes(shop: str, order_id: str, request: Request) -> Response:
        return answer(request, lambda: sim.notes(shop, _id(order_id)))

    @router.post(API + "/orders/{order_id}/notes")
    def create_note(
        shop: str, order_id: str, request: Request, body: dict[str, Any] | None = Body(default=None)
    ) -> Response:
        fields = body or {}
        return answer(
            request,
            lambda: sim.add_note(
                shop,
                _id(order_id),
                str(fields.get("note") or ""),
                customer_note=bool(fields.get("customer_note")),
            ),
            status=201,
        )

    @router.get(API + "/webhooks")
    def list_webhooks(shop: str, request: Request) -> Response:
        return answer(request, lambda: sim.list_webhooks(shop))

    @router.post(API + "/webhooks")
    def create_webhook(
        shop: str, request: Request, body: dict[str, Any] | None = Body(default=None)
    ) -> Response:
        fields = body or {}
        return answer(
            request,
            lambda: sim.create_webhook(
                shop,
                topic=str(fields.get("topic") or ""),
                delivery_url=str(fields.get("delivery_url") or ""),
                secret=fields.get("secret"),
                name=fields.get("name"),
                status=str(fields.get("status") or "active"),
            ),
            status=201,
        )

    @router.get(API + "/webhooks/{hook_id}")
    def get_webhook(shop: str, hook_id: str, request: Request) -> Response:
        return answer(request, lambda: sim.get_webhook(shop, _id(hook_id)))

    @router.put(API + "/webhooks/{hook_id}")
    def update_webhook(
        shop: str, hook_id: str, request: Request, body: dict[str, Any] | None = Body(default=None)
    ) -> Response:
        return answer(request, lambda: sim.update_webhook(shop, _id(hook_id), body or {}))

    @router.delete(API + "/webhooks/{hook_id}")
    def delete_webhook(shop: str, hook_id: str, request: Request) -> Response:
        return answer(request, lambda: sim.delete_webhook(shop, _id(hook_id)))

    return router


def _link_header(request: Request, page: int, pages: int) -> str:
    """RFC 5988 ``Link`` with ``prev``/``next``, as WordPress sends it (minus any keys)."""
    params = [
        (k, v)
        for k, v in request.query_params.multi_items()
        if k not in HIDDEN_QUERY and not k.startswith(HIDDEN_PREFIX) and k != "page"
    ]
    base = str(request.url.replace(query=""))

    def url(target: int) -> str:
        return f"{base}?{urlencode([*params, ('page', str(target))])}"

    links = []
    if 1 < page <= pages + 1:
        links.append(f'<{url(page - 1)}>; rel="prev"')
    if page < pages:
        links.append(f'<{url(page + 1)}>; rel="next"')
    return ", ".join(links)
