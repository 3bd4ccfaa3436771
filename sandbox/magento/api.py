"""Magento's REST API (mounted at ``/magento``).

Under ``/{shop}/rest/V1/`` and ``/{shop}/rest/{store_code}/V1/``: ``GET orders``, ``GET orders/{id}``,
``POST order/{id}/ship``, ``GET shipments``, ``GET shipment/{id}``.
A request meets, in this order: the request log, the switched-on faults, the integration's
credential (an OAuth 1.0a signature, or a bearer token where the shop allows it; see
integrations.py), then the shop (404 when unknown).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from sandbox.magento.errors import MagentoError, magento_error
from sandbox.magento.index import keyset_search
from sandbox.magento.integrations import SignedRequest
from sandbox.magento.ports import ApiPort
from sandbox.magento.search import SearchError, parse_search_criteria, run_search
from sandbox.magento.store import NOT_FOUND, MagentoShop

API_PREFIXES = ("/{shop}/rest/V1", "/{shop}/rest/{store_code}/V1")

P = ParamSpec("P")


def answers_magento_errors(handler: Callable[P, Any]) -> Callable[P, Any]:
    """Turn the store's and the search parser's refusals into Magento error answers."""

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        try:
            return handler(*args, **kwargs)
        except MagentoError as error:
            return magento_error(error.status, error.message, error.parameters)
        except SearchError as error:
            return magento_error(400, error.message, error.parameters)

    return wrapper


def build_api_router(sim: ApiPort) -> APIRouter:
    router = APIRouter()
    state = sim.state

    def gate(request: Request, shop: str) -> Response | MagentoShop:
        """What a request meets before Magento reads it: the log, faults, auth, then the shop."""
        with state.lock:
            state.requests.append(f"{request.method} {request.url.path}?{request.url.query}")
        fault = sim.faults.before(request.method, request.url.path)
        if fault.status is not None:
            response = magento_error(
                fault.status,
                "Too many requests" if fault.status == 429 else "Service Temporarily Unavailable",
            )
            if fault.retry_after is not None:
                response.headers["Retry-After"] = f"{fault.retry_after:g}"
            return response
        signed = SignedRequest(
            method=request.method,
            url=str(request.url.replace(query="", fragment="")),
            raw_query=request.url.query,
            headers=request.headers,
        )
        try:
            sim.integrations.check(shop, signed)
        except MagentoError as error:
            return magento_error(error.status, error.message, error.parameters)
        found = state.find(shop)
        if found is None:
            return magento_error(404, "Request does not match any route.")
        return found

    @answers_magento_errors
    def list_orders(request: Request, shop: str, store_code: str | None = None) -> Any:
        found = gate(request, shop)
        if isinstance(found, Response):
            return found
        criteria = parse_search_criteria(request.query_params.multi_items())
        with state.lock:
            # the adapter's keyset pages from the index; any other search over every order
            page = keyset_search(found.index, criteria, found.render)
            if page is None:
                page = run_search(found.rendered_orders(), criteria, default_sort=("entity_id", "DESC"))
            items, total = page
        return {"items": items, "search_criteria": criteria.as_json(), "total_count": total}

    @answers_magento_errors
    def get_order(request: Request, shop: str, order_id: int, store_code: str | None = None) -> Any:
        found = gate(request, shop)
        if isinstance(found, Response):
            return found
        with state.lock:
            return found.render(order_id)

    @answers_magento_errors
    def ship_order(
        request: Request,
        shop: str,
        order_id: int,
        store_code: str | None = None,
        body: dict[str, Any] | None = Body(default=None),
    ) -> Any:
        found = gate(request, shop)
        if isinstance(found, Response):
            return found
        with state.lock:
            return found.ship(order_id, body or {})

    @answers_magento_errors
    def list_shipments(request: Request, shop: str, store_code: str | None = None) -> Any:
        found = gate(request, shop)
        if isinstance(found, Response):
            return found
        criteria = parse_search_criteria(request.query_params.multi_items())
        with state.lock:
            items, total = run_search(
                list(found.shipments.values()), criteria, default_sort=("entity_id", "DESC")
            )
        return {"items": items, "search_criteria": criteria.as_json(), "total_count": total}

    @answers_magento_errors
    def get_shipment(request: Request, shop: str, shipment_id: int, store_code: str | None = None) -> Any:
        found = gate(request, shop)
        if isinstance(found, Response):
            return found
        with state.lock:
            if shipment_id not in found.shipments:
                raise MagentoError(404, NOT_FOUND)
            return found.shipments[shipment_id]

    for prefix in API_PREFIXES:
        router.add_api_route(f"{prefix}/orders", list_orders, methods=["GET"])
        router.add_api_route(f"{prefix}/orders/{{order_id}}", get_order, methods=["GET"])
        router.add_api_route(f"{prefix}/order/{{order_id}}/ship", ship_order, methods=["POST"])
        router.add_api_route(f"{prefix}/shipments", list_shipments, methods=["GET"])
        router.add_api_route(f"{prefix}/shipment/{{shipment_id}}", get_shipment, methods=["GET"])
    return router
