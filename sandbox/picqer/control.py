"""Test control for the Picqer simulator, mounted at ``/_sandbox/picqer``: no auth, no rate limit.

POST   /reset                       everything empty (state, faults, log, deliveries, rate window)
POST   /seed                        load the demo data (replaces the state)
GET    /orders                      every order as the API shows it (no paging, no rate limit)
GET    /requests?method=&path=      the API request log; path is a glob ("/orders/10001*")
DELETE /requests                    clear it
GET    /faults                      {"rules": [...]}
POST   /faults                      replace the rules (see sandbox/faults.py for the JSON)
DELETE /faults                      no faults
GET    /rate-limit                  {"limit": 500}
POST   /rate-limit                  {"limit": 10} or {"limit": null}; empties the window
POST   /products                    {"productcode", "name", "price", "idvatgroup"?, "weight"?,
                                     "stock": 5 | {"<idwarehouse>": 5}} -> product
POST   /products/{id or code}/stock {"idwarehouse"?, "change": n | "amount": n} -> stock rows
POST   /orders/{idorder}/ship       {"trackingcode"?, "provider"?} -> {"order", "shipments"}
POST   /orders/{idorder}/status     {"status": "expected"} (a concept order only)
POST   /hooks/{idhook}/deactivate   as Picqer does after failing deliveries
GET    /webhooks?event=             deliveries sent (url, headers, body, topic, status, ...)
DELETE /webhooks                    clear the delivery log
POST   /webhooks/faults             {"duplicate_rate": 0.5, "drop_rate": 0.0, "reorder": true}
POST   /webhooks/flush              send a delivery held back for reordering
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from sandbox.delivery import DeliveryFaults
from sandbox.faults import FaultSpecError, parse_fault_spec
from sandbox.picqer import catalog, fulfilment, lifecycle
from sandbox.picqer.errors import PicqerError, invalid, missing, wrong_status
from sandbox.picqer.models import CONCEPT, EXPECTED, Product
from sandbox.picqer.ports import ControlPort
from sandbox.picqer.serialize import order_json, product_json, shipment_json
from sandbox.picqer.state import PicqerState
from sandbox.picqer.stock import change_stock, stock_rows


def build_control_router(sim: ControlPort) -> APIRouter:
    router = APIRouter()

    async def run(action: Callable[[PicqerState], Any], status: int = 200) -> Response:
        """Apply ``action`` under the state lock; send the webhooks it raised after answering."""
        try:
            payload, deliveries = await run_in_threadpool(sim.run, action)
        except PicqerError as error:
            return JSONResponse(error.body(), error.status)
        response = JSONResponse(payload, status)
        if deliveries:
            response.background = BackgroundTask(sim.deliver, deliveries)
        return response

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        sim.reset()
        return {"reset": True}

    @router.post("/seed")
    async def seed() -> dict[str, Any]:
        sim.seed_demo()
        return {"seeded": True, "products": len(sim.state.products)}

    @router.get("/orders")
    async def all_orders() -> Response:
        return await run(
            lambda state: [order_json(state, o) for o in sorted(state.orders.values(), key=_idorder)]
        )

    @router.get("/requests")
    async def requests(method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        return [entry.as_json() for entry in sim.requests.entries(method=method, path=path)]

    @router.delete("/requests", status_code=204)
    async def clear_requests() -> None:
        sim.requests.clear()

    @router.get("/faults")
    async def get_faults() -> dict[str, Any]:
        return {"rules": [rule.as_json() for rule in sim.faults.rules()]}

    @router.post("/faults")
    async def set_faults(request: Request) -> Response:
        try:
            rules = parse_fault_spec(await _body(request))
        except (FaultSpecError, PicqerError) as error:
            return JSONResponse({"error": str(error)}, 400)
        sim.faults.clear()
        sim.faults.add(rules)
        return JSONResponse({"rules": [rule.as_json() for rule in rules]})

    @router.delete("/faults", status_code=204)
    async def clear_faults() -> None:
        sim.faults.clear()

    @router.get("/rate-limit")
    async def get_rate_limit() -> dict[str, Any]:
        return {"limit": sim.limiter.limit}

    @router.post("/rate-limit")
    async def set_rate_limit(request: Request) -> Response:
        body = await _body(request)
        limit = body.get("limit") if isinstance(body, dict) else None
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            return JSONResponse({"error": "limit must be a positive integer or null"}, 400)
        sim.limiter.set_limit(limit)
        return JSONResponse({"limit": limit})

    @router.post("/products")
    async def add_product(request: Request) -> Response:
        body = await _object(request)
        if isinstance(body, Response):
            return body

        def action(state: PicqerState) -> Any:
            fields = {"idvatgroup": min(state.vatgroups, default=None), **body}
            product = catalog.create_product(state, fields)
            stock = body.get("stock", 0)
            per_warehouse = stock if isinstance(stock, dict) else {str(_main(state)): stock}
            for idwarehouse, amount in per_warehouse.items():
                change_stock(state, product, int(idwarehouse), {"amount": amount})
            return product_json(state, product)

        return await run(action, 201)

    @router.post("/products/{ref}/stock")
    async def set_stock(ref: str, request: Request) -> Response:
        body = await _object(request)
        if isinstance(body, Response):
            return body

        def action(state: PicqerState) -> Any:
            product = _product(state, ref)
            change_stock(state, product, int(body.get("idwarehouse") or _main(state)), body)
            return stock_rows(state, product)

        return await run(action)

    @router.post("/orders/{idorder}/ship")
    async def ship(idorder: int, request: Request) -> Response:
        body = await _object(request)
        if isinstance(body, Response):
            return body

        def action(state: PicqerState) -> Any:
            order = state.order(idorder)
            shipments = fulfilment.ship_order(state, order, body)
            return {"order": order_json(state, order), "shipments": [shipment_json(s) for s in shipments]}

        return await run(action)

    @router.post("/orders/{idorder}/status")
    async def set_status(idorder: int, request: Request) -> Response:
        body = await _object(request)
        if isinstance(body, Response):
            return body

        def action(state: PicqerState) -> Any:
            order = state.order(idorder)
            if body.get("status") != EXPECTED or order.status != CONCEPT:
                raise wrong_status("Only a concept order can be made 'expected' here")
            lifecycle.set_status(state, order, EXPECTED)
            return order_json(state, order)

        return await run(action)

    @router.post("/hooks/{idhook}/deactivate")
    async def deactivate_hook(idhook: int) -> Response:
        def action(state: PicqerState) -> Any:
            state.hook(idhook).active = False
            return {"idhook": idhook, "active": False}

        return await run(action)

    @router.get("/webhooks")
    async def deliveries(event: str | None = None) -> list[dict[str, Any]]:
        return [d.as_json() for d in list(sim.dispatcher.log) if event is None or d.topic == event]

    @router.delete("/webhooks", status_code=204)
    async def clear_deliveries() -> None:
        sim.dispatcher.log.clear()

    @router.post("/webhooks/faults")
    async def delivery_faults(request: Request) -> Response:
        body = await _object(request)
        if isinstance(body, Response):
            return body
        try:
            faults = DeliveryFaults(
                duplicate_rate=float(body.get("duplicate_rate", 0.0)),
                drop_rate=float(body.get("drop_rate", 0.0)),
                reorder=bool(body.get("reorder", False)),
            )
        except (TypeError, ValueError):
            return JSONResponse({"error": "duplicate_rate and drop_rate must be numbers"}, 400)
        sim.dispatcher.faults = faults
        return JSONResponse(
            {
                "duplicate_rate": faults.duplicate_rate,
                "drop_rate": faults.drop_rate,
                "reorder": faults.reorder,
            }
        )

    @router.post("/webhooks/flush")
    async def flush() -> dict[str, Any]:
        await run_in_threadpool(sim.dispatcher.flush)
        return {"flushed": True}

    return router


def _idorder(order: Any) -> int:
    return int(order.idorder)


def _main(state: PicqerState) -> int:
    ranked = state.ordered_warehouses()
    if not ranked:
        raise invalid("There is no warehouse; seed first")
    return ranked[0].idwarehouse


def _product(state: PicqerState, ref: str) -> Product:
    """A product by idproduct, else by productcode (SKUs such as 240-LV08 are not ids)."""
    if ref.isdigit() and int(ref) in state.products:
        return state.products[int(ref)]
    product = state.product_by_code(ref)
    if product is None:
        raise PicqerError(404, 20, "Product not found")
    return product


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise invalid("No valid JSON") from None


async def _object(request: Request) -> dict[str, Any] | Response:
    """The body as an object, or the 400 answer to send instead."""
    try:
        body = await _body(request)
    except PicqerError as error:
        return JSONResponse(error.body(), error.status)
    if body is None:
        return {}
    if not isinstance(body, dict):
        refusal = missing("a JSON object body")
        return JSONResponse(refusal.body(), refusal.status)
    return body
