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
from pydantic import Field

from sandbox.bodies import ControlBody
from sandbox.faults import FaultRule
from sandbox.magento.errors import MagentoError, magento_error
from sandbox.magento.integrations import BEARER_SETTING
from sandbox.magento.ports import ControlPort


class ItemIn(ControlBody):
    """An order row: a simple product, a configurable one (``child``) or a bundle (``children``)."""

    sku: str | None = None
    name: str | None = None
    price: float = 0
    qty: float = 1
    weight: float = 1
    product_type: str = "simple"
    child: ItemIn | None = None
    children: list[ItemIn] | None = None


class OrderIn(ControlBody):
    """The small spec ``MagentoShop.create_order`` reads (see sandbox/magento/store.py)."""

    items: list[ItemIn] = Field(default_factory=list)
    address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    shipping_address: bool | None = None  # False: an order without a shipping address
    customer_email: str | None = None
    customer_note: str | None = None
    increment_id: str | int | None = None
    shipping_amount: float | None = None
    payment_method: str | None = None
    comment: str | None = None
    paid: bool = False


class RefundItemIn(ControlBody):
    order_item_id: int
    qty: float = 0


class RefundIn(ControlBody):
    items: list[RefundItemIn] = Field(default_factory=list)


class AddressIn(ControlBody):
    shipping: dict[str, Any] | None = None
    billing: dict[str, Any] | None = None


class CommentIn(ControlBody):
    comment: str = ""
    is_visible_on_front: bool = False


class FaultIn(ControlBody):
    status: int = Field(default=503, ge=400, le=599)
    count: int = 1
    retry_after: float | None = None


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
    def create_order(shop: str, spec: OrderIn | None = None) -> Any:
        fields = spec.model_dump(exclude_unset=True) if spec is not None else {}
        return locked(lambda: state.shop(shop).create_order(fields), status=201)

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
    def refund(shop: str, order_id: int, body: RefundIn) -> Any:
        items = [item.model_dump() for item in body.items]
        return locked(lambda: state.shop(shop).refund(order_id, items))

    @router.put("/shops/{shop}/orders/{order_id}/address")
    def edit_address(shop: str, order_id: int, body: AddressIn) -> Any:
        return locked(
            lambda: state.shop(shop).edit_address(order_id, shipping=body.shipping, billing=body.billing)
        )

    @router.post("/shops/{shop}/orders/{order_id}/comments")
    def comment(shop: str, order_id: int, body: CommentIn) -> Any:
        return locked(
            lambda: state.shop(shop).add_comment(
                order_id, body.comment, visible_on_front=body.is_visible_on_front
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
    def add_fault(body: FaultIn) -> Any:
        def add() -> Any:
            rule = FaultRule(
                kind="error", status=body.status, count=max(1, body.count), retry_after=body.retry_after
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
