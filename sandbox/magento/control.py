"""Test control of the Magento simulator (mounted at ``/_sandbox/magento``): what a merchant does.

POST   /shops/{shop}/orders                       a new order (the shop is created on first use)
GET    /shops/{shop}/orders                       every order as the API renders it
POST   /shops/{shop}/orders/{id}/invoice|cancel   invoice or cancel
POST   /shops/{shop}/orders/{id}/refund           {"items": [...]}
PUT    /shops/{shop}/orders/{id}/address          {"shipping"?, "billing"?}
POST   /shops/{shop}/orders/{id}/comments         {"comment", "is_visible_on_front"?}
GET    /shops/{shop}/shipments
GET    /shops/{shop}/integration                  its four OAuth 1.0a values (the shop is created)
POST   /shops/{shop}/config                       {"oauth/consumer/enable_integration_as_bearer": 1}:
                                                  ``bin/magento config:set`` for the one setting
                                                  the simulator knows (0 switches it off again)
GET    /credentials                               every shop's integration, by shop name
GET    /faults                                    [{"status", "count", "retry_after"}]
POST   /faults                                    {"status": 503, "count": 1, "retry_after"?}: the
                                                  next ``count`` API requests answer ``status``
DELETE /faults
POST   /reset
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from sandbox.faults import FaultRule
from sandbox.magento.errors import MagentoError, magento_error
from sandbox.magento.integrations import BEARER_SETTING
from sandbox.magento.ports import ControlPort


def build_control_router(sim: ControlPort) -> APIRouter:
    router = APIRouter()
    state = sim.state

    def locked(action: Callable[[], Any], status: int = 200) -> Any:
        try:
            with state.lock:
                result = action()
        except MagentoError as error:
            return magento_error(error.status, error.message, error.parameters)
        return JSONResponse(result, status_code=status)

    @router.post("/shops/{shop}/orders")
    def create_order(shop: str, spec: dict[str, Any] = Body(default_factory=dict)) -> Any:
        return locked(lambda: state.shop(shop).create_order(spec), status=201)

    @router.get("/shops/{shop}/orders")
    def list_orders(shop: str) -> Any:
        return locked(lambda: state.shop(shop).rendered_orders())

    @router.post("/shops/{shop}/orders/{order_id}/invoice")
    def invoice(shop: str, order_id: int) -> Any:
        return locked(lambda: state.shop(shop).invoice(order_id))

    @router.post("/shops/{shop}/orders/{order_id}/cancel")
    def cancel(shop: str, order_id: int) -> Any:
        return locked(lambda: state.shop(shop).cancel(order_id))

    @router.post("/shops/{shop}/orders/{order_id}/refund")
    def refund(shop: str, order_id: int, body: dict[str, Any] = Body(...)) -> Any:
        return locked(lambda: state.shop(shop).refund(order_id, list(body.get("items") or [])))

    @router.put("/shops/{shop}/orders/{order_id}/address")
    def edit_address(shop: str, order_id: int, body: dict[str, Any] = Body(...)) -> Any:
        return locked(
            lambda: state.shop(shop).edit_address(
                order_id, shipping=body.get("shipping"), billing=body.get("billing")
            )
        )

    @router.post("/shops/{shop}/orders/{order_id}/comments")
    def comment(shop: str, order_id: int, body: dict[str, Any] = Body(...)) -> Any:
        return locked(
            lambda: state.shop(shop).add_comment(
                order_id,
                str(body.get("comment", "")),
                visible_on_front=bool(body.get("is_visible_on_front")),
            )
        )

    @router.get("/shops/{shop}/shipments")
    def shipments(shop: str) -> Any:
        return locked(lambda: list(state.shop(shop).shipments.values()))

    @router.get("/shops/{shop}/integration")
    def integration(shop: str) -> Any:
        def show() -> dict[str, str]:
            state.shop(shop)
            return sim.integrations.integration(shop).as_json()

        return locked(show)

    @router.post("/shops/{shop}/config")
    def set_config(shop: str, body: dict[str, Any] = Body(...)) -> Any:
        def apply() -> dict[str, int]:
            unknown = sorted(set(body) - {BEARER_SETTING})
            if unknown:
                raise MagentoError(400, f"The simulator knows no setting {unknown[0]!r}.")
            state.shop(shop)
            if BEARER_SETTING in body:
                sim.integrations.allow_bearer(shop, str(body[BEARER_SETTING]).lower() in ("1", "true"))
            return {BEARER_SETTING: int(sim.integrations.bearer_allowed(shop))}

        return locked(apply)

    @router.get("/credentials")
    def credentials() -> Any:
        return locked(
            lambda: {name: sim.integrations.integration(name).as_json() for name in sorted(state.shops)}
        )

    @router.get("/faults")
    def get_faults() -> Any:
        return locked(lambda: [_fault_json(rule) for rule in sim.faults.rules()])

    @router.post("/faults")
    def add_fault(body: dict[str, Any] = Body(...)) -> Any:
        def add() -> Any:
            rule = FaultRule(
                kind="error",
                status=int(body.get("status", 503)),
                count=max(1, int(body.get("count", 1))),
                retry_after=None if body.get("retry_after") is None else float(body["retry_after"]),
            )
            sim.faults.add([rule])
            return _fault_json(rule)

        return locked(add, status=201)

    @router.delete("/faults")
    def clear_faults() -> Any:
        def clear() -> list[Any]:
            sim.faults.clear()
            return []

        return locked(clear)

    @router.post("/reset")
    def reset() -> Any:
        def reset_all() -> dict[str, bool]:
            sim.reset()
            return {"reset": True}

        return locked(reset_all)

    return router


def _fault_json(rule: FaultRule) -> dict[str, Any]:
    """Magento's fault JSON: the next ``count`` API requests answer ``status``."""
    return {"status": rule.status, "count": rule.count, "retry_after": rule.retry_after}
