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

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import StrictInt
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from sandbox.bodies import ControlBody
from sandbox.delivery import DeliveryFaultsBody
from sandbox.faults import FaultSpecError, parse_fault_spec
from sandbox.picqer import catalog, fulfilment, lifecycle
from sandbox.picqer.errors import PicqerError, invalid, wrong_status
from sandbox.picqer.models import CONCEPT, EXPECTED, Product
from sandbox.picqer.ports import ControlPort
from sandbox.picqer.serialize import order_json, product_json, shipment_json
from sandbox.picqer.state import PicqerState
from sandbox.picqer.stock import change_stock, stock_rows


class AfterWriteIn(ControlBody):
    count: int | None = None
    delay: float | None = None
    status: int | None = None


class FaultRuleIn(ControlBody):
    """One rule, full form or shorthand (see sandbox/faults.py); what it means is checked there."""

    kind: str | None = None
    method: str | None = None
    path: str | None = None
    rate: float | None = None
    status: int | None = None
    delay: float | None = None
    count: int | None = None
    error_rate: float | None = None
    timeout_after_write: AfterWriteIn | None = None


class FaultRulesIn(ControlBody):
    rules: list[FaultRuleIn]


class RateLimitIn(ControlBody):
    limit: StrictInt | None = None  # None: no limit


class ProductIn(ControlBody):
    productcode: str | int | None = None
    name: str | None = None
    price: float | None = None
    idvatgroup: int | None = None
    weight: int | None = None
    barcode: str | None = None
    description: str | None = None
    type: str | None = None
    stock: int | dict[str, int] = 0  # in the main warehouse, or per idwarehouse


class StockIn(ControlBody):
    idwarehouse: int | None = None  # default: the main warehouse
    change: StrictInt | None = None  # add (or take) this many
    amount: StrictInt | None = None  # set to this many


class ShipIn(ControlBody):
    trackingcode: str | None = None
    provider: str | None = None


class StatusIn(ControlBody):
    status: str


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
    async def set_faults(body: FaultRulesIn | list[FaultRuleIn] | FaultRuleIn) -> Response:
        spec = (
            [rule.model_dump(exclude_unset=True) for rule in body]
            if isinstance(body, list)
            else body.model_dump(exclude_unset=True)
        )
        try:
            rules = parse_fault_spec(spec)
        except FaultSpecError as error:
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
    async def set_rate_limit(body: RateLimitIn | None = None) -> Response:
        limit = body.limit if body is not None else None
        if limit is not None and limit < 1:
            return JSONResponse({"error": "limit must be a positive integer or null"}, 400)
        sim.limiter.set_limit(limit)
        return JSONResponse({"limit": limit})

    @router.post("/products")
    async def add_product(product: ProductIn) -> Response:
        body = product.model_dump(exclude_unset=True)

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
    async def set_stock(ref: str, stock: StockIn) -> Response:
        body = stock.model_dump(exclude_unset=True)

        def action(state: PicqerState) -> Any:
            product = _product(state, ref)
            change_stock(state, product, int(body.get("idwarehouse") or _main(state)), body)
            return stock_rows(state, product)

        return await run(action)

    @router.post("/orders/{idorder}/ship")
    async def ship(idorder: int, shipment: ShipIn | None = None) -> Response:
        body = shipment.model_dump(exclude_unset=True) if shipment is not None else {}

        def action(state: PicqerState) -> Any:
            order = state.order(idorder)
            shipments = fulfilment.ship_order(state, order, body)
            return {"order": order_json(state, order), "shipments": [shipment_json(s) for s in shipments]}

        return await run(action)

    @router.post("/orders/{idorder}/status")
    async def set_status(idorder: int, body: StatusIn) -> Response:
        def action(state: PicqerState) -> Any:
            order = state.order(idorder)
            if body.status != EXPECTED or order.status != CONCEPT:
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
    async def delivery_faults(body: DeliveryFaultsBody | None = None) -> Response:
        faults = (body or DeliveryFaultsBody()).faults()
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
