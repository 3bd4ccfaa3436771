"""Test control of the WooCommerce simulator (mounted at ``/_sandbox/woocommerce``).

Shops' orders (create, pay, edit, refund, trash, ...), their webhooks and secrets, the delivery log,
API faults (``/faults``) and delivery faults (``/webhooks/faults``), each shop's REST API key
(``/shops/{shop}/credentials``) and all of them (``/credentials``). Errors use Woo's JSON error shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from sandbox.bodies import ControlBody
from sandbox.delivery import DeliveryFaultsBody
from sandbox.woocommerce.errors import WooError, error_response
from sandbox.woocommerce.gate import FailNext
from sandbox.woocommerce.ports import ControlPort
from sandbox.woocommerce.state import ORDER_TOPICS


class LineIn(ControlBody):
    sku: str = ""
    name: str | None = None
    quantity: int = Field(default=1, ge=1)
    price: float = 10.0


class OrderIn(ControlBody):
    status: str = "processing"
    line_items: list[LineIn] = Field(min_length=1)
    billing: dict[str, str] | None = None  # None: the demo address; {}: empty
    shipping: dict[str, str] | None = None  # None: same as billing; {}: empty
    customer_note: str = ""


class EditIn(ControlBody):
    billing: dict[str, str] | None = None
    shipping: dict[str, str] | None = None
    customer_note: str | None = None


class StatusIn(ControlBody):
    status: str


class RefundIn(ControlBody):
    line_id: int | None = None  # refund units of this line; None: money only
    quantity: int = 1
    amount: float | None = None
    reason: str = ""


class SecretIn(ControlBody):
    secret: str


class AddressIn(ControlBody):
    delivery_url: str
    topics: list[str] = Field(default_factory=lambda: list(ORDER_TOPICS))
    secret: str | None = None


class FailNextIn(ControlBody):
    status: int = Field(ge=400, le=599)
    retry_after: float | None = None
    method: str | None = None
    path_suffix: str | None = None


class FaultsIn(ControlBody):
    fail_next: list[FailNextIn] | None = None
    rate_limit_per_minute: int | None = None
    strip_authorization: bool | None = None


def _then(action: Callable[[], None], result: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        action()
        return result

    return run


def build_control_router(sim: ControlPort) -> APIRouter:
    """Test control: shops' orders, webhooks, faults. Errors use Woo's JSON error shape."""
    router = APIRouter()

    def run(action: Callable[[], Any], status: int = 200) -> Response:
        try:
            return JSONResponse(action(), status_code=status)
        except WooError as error:
            return error_response(error)

    @router.post("/reset")
    def reset() -> Response:
        return run(_then(sim.reset, {"reset": True}))

    @router.post("/seed-demo")
    def seed_demo() -> Response:
        return run(_then(sim.seed_demo, {"seeded": True}))

    @router.get("/shops/{shop}/orders")
    def orders(shop: str) -> Response:
        return run(lambda: sim.all_orders(shop))

    @router.post("/shops/{shop}/orders")
    def create_order(shop: str, body: OrderIn) -> Response:
        return run(
            lambda: sim.create_order(
                shop,
                status=body.status,
                line_items=[line.model_dump() for line in body.line_items],
                billing=body.billing,
                shipping=body.shipping,
                customer_note=body.customer_note,
            ),
            status=201,
        )

    @router.get("/shops/{shop}/orders/{order_id}")
    def get_order(shop: str, order_id: int) -> Response:
        return run(lambda: sim.get_order(shop, order_id))

    @router.post("/shops/{shop}/orders/{order_id}/pay")
    def pay(shop: str, order_id: int) -> Response:
        return run(lambda: sim.pay(shop, order_id))

    @router.post("/shops/{shop}/orders/{order_id}/status")
    def status(shop: str, order_id: int, body: StatusIn) -> Response:
        return run(lambda: sim.set_status(shop, order_id, body.status))

    @router.post("/shops/{shop}/orders/{order_id}/edit")
    def edit(shop: str, order_id: int, body: EditIn) -> Response:
        return run(
            lambda: sim.edit(
                shop, order_id, billing=body.billing, shipping=body.shipping, customer_note=body.customer_note
            )
        )

    @router.post("/shops/{shop}/orders/{order_id}/refund")
    def refund(shop: str, order_id: int, body: RefundIn) -> Response:
        return run(
            lambda: sim.refund(
                shop,
                order_id,
                line_id=body.line_id,
                quantity=body.quantity,
                amount=body.amount,
                reason=body.reason,
            )
        )

    @router.post("/shops/{shop}/orders/{order_id}/cancel")
    def cancel(shop: str, order_id: int) -> Response:
        return run(lambda: sim.cancel(shop, order_id))

    @router.post("/shops/{shop}/orders/{order_id}/trash")
    def trash(shop: str, order_id: int) -> Response:
        return run(lambda: sim.trash(shop, order_id))

    @router.post("/shops/{shop}/orders/{order_id}/restore")
    def restore(shop: str, order_id: int) -> Response:
        return run(lambda: sim.restore(shop, order_id))

    @router.delete("/shops/{shop}/orders/{order_id}")
    def delete(shop: str, order_id: int) -> Response:
        return run(lambda: sim.delete(shop, order_id))

    @router.get("/shops/{shop}/orders/{order_id}/notes")
    def notes(shop: str, order_id: int) -> Response:
        return run(lambda: sim.notes(shop, order_id))

    @router.get("/shops/{shop}/fulfilments")
    def fulfilments(shop: str) -> Response:
        return run(lambda: sim.fulfilments(shop))

    @router.put("/shops/{shop}/webhook-secret")
    def webhook_secret(shop: str, body: SecretIn) -> Response:
        return run(_then(lambda: sim.set_webhook_secret(shop, body.secret), {"ok": True}))

    @router.post("/shops/{shop}/webhooks")
    def register(shop: str, body: AddressIn) -> Response:
        return run(
            lambda: sim.register_delivery_address(
                shop, body.delivery_url, topics=body.topics, secret=body.secret
            ),
            status=201,
        )

    @router.get("/shops/{shop}/webhooks")
    def subscriptions(shop: str) -> Response:
        return run(lambda: sim.list_webhooks(shop, with_secret=True))

    @router.get("/shops/{shop}/credentials")
    def shop_credentials(shop: str) -> Response:
        return run(lambda: sim.keys(shop))

    @router.get("/credentials")
    def credentials() -> Response:
        return run(sim.credentials)

    @router.get("/webhooks")
    def outbox(shop: str | None = None) -> Response:
        return run(lambda: sim.delivery_log(shop))

    @router.get("/faults")
    def get_faults() -> Response:
        return run(sim.faults.as_json)

    @router.put("/faults")
    def set_faults(body: FaultsIn) -> Response:
        def action() -> dict[str, Any]:
            if body.fail_next is not None:
                sim.faults.fail_next = [FailNext(**item.model_dump()) for item in body.fail_next]
            if "rate_limit_per_minute" in body.model_fields_set:
                sim.faults.rate_limit_per_minute = body.rate_limit_per_minute
            if body.strip_authorization is not None:
                sim.faults.strip_authorization = body.strip_authorization
            return sim.faults.as_json()

        return run(action)

    @router.delete("/faults")
    def clear_faults() -> Response:
        def action() -> dict[str, Any]:
            sim.faults.clear()
            return sim.faults.as_json()

        return run(action)

    @router.put("/delivery-faults")
    @router.post("/webhooks/faults")  # the same path as every other simulator's
    def delivery_faults(body: DeliveryFaultsBody) -> Response:
        # this simulator's own dispatcher: the other simulators' deliveries are not affected
        sim.dispatcher.faults = body.faults()
        return run(body.model_dump)

    @router.post("/delivery-faults/flush")
    @router.post("/webhooks/flush")
    def flush() -> Response:
        return run(_then(sim.dispatcher.flush, {"flushed": True}))

    return router
