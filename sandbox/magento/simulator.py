"""The Magento 2 REST simulator: orders with searchCriteria, the ship endpoint, shipments.

API (mounted at ``/magento``), under ``/{shop}/rest/V1/`` and ``/{shop}/rest/{store_code}/V1/``:
``GET orders``, ``GET orders/{id}``, ``POST order/{id}/ship``, ``GET shipments``, ``GET shipment/{id}``.
Bearer tokens: any non-empty token, or exactly ``access_token`` when one is given. Errors use
Magento's ``{"message": ..., "parameters": ...}``. Magento sends no order webhooks, so the
dispatcher is kept only for the common simulator signature.

Control (mounted at ``/_sandbox/magento``): see ``control_router`` below and the README's sandbox page.
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response

from sandbox.clock import Clock
from sandbox.delivery import WebhookDispatcher
from sandbox.magento.demo import seed
from sandbox.magento.search import SearchError, parse_search_criteria, run_search
from sandbox.magento.store import NOT_FOUND, MagentoError, MagentoShop

DEMO_SHOP = "demo-shop"
UNAUTHORIZED = "The consumer isn't authorized to access %resources."
REQUEST_LOG_SIZE = 1000
API_PREFIXES = ("/{shop}/rest/V1", "/{shop}/rest/{store_code}/V1")

P = ParamSpec("P")


@dataclass
class Fault:
    """The next ``count`` API requests answer ``status`` (503 or 429, say), with ``Retry-After``."""

    status: int
    count: int
    retry_after: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "count": self.count, "retry_after": self.retry_after}


def magento_error(status: int, message: str, parameters: Any = None) -> JSONResponse:
    return JSONResponse({"message": message, "parameters": parameters or []}, status_code=status)


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


class MagentoSimulator:
    """Shops by name, each a ``MagentoShop``; thread-safe (uvicorn serves from a thread pool)."""

    def __init__(
        self, *, clock: Clock, dispatcher: WebhookDispatcher, access_token: str | None = None
    ) -> None:
        self.clock = clock
        self.dispatcher = dispatcher  # unused: Magento Open Source has no order webhooks
        self.access_token = access_token
        self.shops: dict[str, MagentoShop] = {}
        self.faults: list[Fault] = []
        # "GET /magento/demo-shop/rest/V1/orders?...", for tests that count pages; bounded for long demos
        self.requests: deque[str] = deque(maxlen=REQUEST_LOG_SIZE)
        self._lock = threading.RLock()
        self.api = self._api_router()
        self.control = self._control_router()

    # -- lifecycle ---------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.shops.clear()
            self.faults.clear()
            self.requests.clear()

    def shop(self, name: str) -> MagentoShop:
        """The shop called ``name``, created empty on first use (control side only)."""
        with self._lock:
            if name not in self.shops:
                self.shops[name] = MagentoShop(name=name, clock=self.clock)
            return self.shops[name]

    def seed_demo(self) -> None:
        seed(self.shop(DEMO_SHOP))

    # -- the API -----------------------------------------------------------------------------

    def _gate(self, request: Request, shop: str) -> Response | MagentoShop:
        """Faults, then auth, then the shop: what a request meets before Magento reads it."""
        with self._lock:
            self.requests.append(f"{request.method} {request.url.path}?{request.url.query}")
            if self.faults:
                fault = self.faults[0]
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.pop(0)
                response = magento_error(
                    fault.status,
                    "Too many requests" if fault.status == 429 else "Service Temporarily Unavailable",
                )
                if fault.retry_after is not None:
                    response.headers["Retry-After"] = f"{fault.retry_after:g}"
                return response
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if (
            scheme.lower() != "bearer"
            or not token.strip()
            or (self.access_token and token != self.access_token)
        ):
            return magento_error(401, UNAUTHORIZED, {"resources": "Magento_Sales::sales"})
        with self._lock:
            found = self.shops.get(shop)
        if found is None:
            return magento_error(404, "Request does not match any route.")
        return found

    def _api_router(self) -> APIRouter:
        router = APIRouter()

        @answers_magento_errors
        def list_orders(request: Request, shop: str, store_code: str | None = None) -> Any:
            found = self._gate(request, shop)
            if isinstance(found, Response):
                return found
            criteria = parse_search_criteria(request.query_params.multi_items())
            with self._lock:
                items, total = run_search(
                    found.rendered_orders(), criteria, default_sort=("entity_id", "DESC")
                )
            return {"items": items, "search_criteria": criteria.as_json(), "total_count": total}

        @answers_magento_errors
        def get_order(request: Request, shop: str, order_id: int, store_code: str | None = None) -> Any:
            found = self._gate(request, shop)
            if isinstance(found, Response):
                return found
            with self._lock:
                return found.render(order_id)

        @answers_magento_errors
        def ship_order(
            request: Request,
            shop: str,
            order_id: int,
            store_code: str | None = None,
            body: dict[str, Any] | None = Body(default=None),
        ) -> Any:
            found = self._gate(request, shop)
            if isinstance(found, Response):
                return found
            with self._lock:
                return found.ship(order_id, body or {})

        @answers_magento_errors
        def list_shipments(request: Request, shop: str, store_code: str | None = None) -> Any:
            found = self._gate(request, shop)
            if isinstance(found, Response):
                return found
            criteria = parse_search_criteria(request.query_params.multi_items())
            with self._lock:
                items, total = run_search(
                    list(found.shipments.values()), criteria, default_sort=("entity_id", "DESC")
                )
            return {"items": items, "search_criteria": criteria.as_json(), "total_count": total}

        @answers_magento_errors
        def get_shipment(request: Request, shop: str, shipment_id: int, store_code: str | None = None) -> Any:
            found = self._gate(request, shop)
            if isinstance(found, Response):
                return found
            with self._lock:
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

    # -- test control ------------------------------------------------------------------------

    def _control_router(self) -> APIRouter:
        router = APIRouter()

        def locked(action: Callable[[], Any], status: int = 200) -> Any:
            try:
                with self._lock:
                    result = action()
            except MagentoError as error:
                return magento_error(error.status, error.message, error.parameters)
            return JSONResponse(result, status_code=status)

        @router.post("/shops/{shop}/orders")
        def create_order(shop: str, spec: dict[str, Any] = Body(default_factory=dict)) -> Any:
            return locked(lambda: self.shop(shop).create_order(spec), status=201)

        @router.get("/shops/{shop}/orders")
        def list_orders(shop: str) -> Any:
            return locked(lambda: self.shop(shop).rendered_orders())

        @router.post("/shops/{shop}/orders/{order_id}/invoice")
        def invoice(shop: str, order_id: int) -> Any:
            return locked(lambda: self.shop(shop).invoice(order_id))

        @router.post("/shops/{shop}/orders/{order_id}/cancel")
        def cancel(shop: str, order_id: int) -> Any:
            return locked(lambda: self.shop(shop).cancel(order_id))

        @router.post("/shops/{shop}/orders/{order_id}/refund")
        def refund(shop: str, order_id: int, body: dict[str, Any] = Body(...)) -> Any:
            return locked(lambda: self.shop(shop).refund(order_id, list(body.get("items") or [])))

        @router.put("/shops/{shop}/orders/{order_id}/address")
        def edit_address(shop: str, order_id: int, body: dict[str, Any] = Body(...)) -> Any:
            return locked(
                lambda: self.shop(shop).edit_address(
                    order_id, shipping=body.get("shipping"), billing=body.get("billing")
                )
            )

        @router.post("/shops/{shop}/orders/{order_id}/comments")
        def comment(shop: str, order_id: int, body: dict[str, Any] = Body(...)) -> Any:
            return locked(
                lambda: self.shop(shop).add_comment(
                    order_id,
                    str(body.get("comment", "")),
                    visible_on_front=bool(body.get("is_visible_on_front")),
                )
            )

        @router.get("/shops/{shop}/shipments")
        def shipments(shop: str) -> Any:
            return locked(lambda: list(self.shop(shop).shipments.values()))

        @router.get("/faults")
        def get_faults() -> Any:
            return locked(lambda: [fault.as_json() for fault in self.faults])

        @router.post("/faults")
        def add_fault(body: dict[str, Any] = Body(...)) -> Any:
            def add() -> Any:
                fault = Fault(
                    status=int(body.get("status", 503)),
                    count=max(1, int(body.get("count", 1))),
                    retry_after=None if body.get("retry_after") is None else float(body["retry_after"]),
                )
                self.faults.append(fault)
                return fault.as_json()

            return locked(add, status=201)

        @router.delete("/faults")
        def clear_faults() -> Any:
            def clear() -> list[Any]:
                self.faults.clear()
                return []

            return locked(clear)

        @router.post("/reset")
        def reset() -> Any:
            def reset_all() -> dict[str, bool]:
                self.reset()
                return {"reset": True}

            return locked(reset_all)

        return router
