"""The simulator's two routers: Woo's REST API, and the test control API.

API (mounted at ``/woocommerce``): ``/{shop}/wp-json/wc/v3/orders``, ``orders/{id}``,
``orders/{id}/refunds``, ``orders/{id}/notes``, ``webhooks``, ``webhooks/{id}``.
Control (mounted at ``/_sandbox/woocommerce``): see :func:`build_control_router`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.delivery import DeliveryFaults
from sandbox.woocommerce.state import ORDER_TOPICS, FailNext, WooError

if TYPE_CHECKING:
    from sandbox.woocommerce.simulator import WooCommerceSimulator

API = "/{shop}/wp-json/wc/v3"
HIDDEN_QUERY = ("consumer_key", "consumer_secret")  # never echoed back in Link headers


def _id(raw: str) -> int:
    if not raw.isdigit():
        raise WooError(404, "rest_no_route", "No route was found matching the URL and request method.")
    return int(raw)


def _error(error: WooError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def build_api_router(sim: WooCommerceSimulator) -> APIRouter:
    router = APIRouter()

    def answer(request: Request, action: Callable[[], Any], status: int = 200) -> Response:
        try:
            sim.gate(request.method, request.url.path, request.headers, request.query_params)
            result = action()
        except WooError as error:
            return _error(error)
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
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in HIDDEN_QUERY and k != "page"]
    base = str(request.url.replace(query=""))

    def url(target: int) -> str:
        return f"{base}?{urlencode([*params, ('page', str(target))])}"

    links = []
    if 1 < page <= pages + 1:
        links.append(f'<{url(page - 1)}>; rel="prev"')
    if page < pages:
        links.append(f'<{url(page + 1)}>; rel="next"')
    return ", ".join(links)


# -- control ------------------------------------------------------------------------------------


class LineIn(BaseModel):
    sku: str = ""
    name: str | None = None
    quantity: int = Field(default=1, ge=1)
    price: float = 10.0


class OrderIn(BaseModel):
    status: str = "processing"
    line_items: list[LineIn] = Field(min_length=1)
    billing: dict[str, str] | None = None  # None: the demo address; {}: empty
    shipping: dict[str, str] | None = None  # None: same as billing; {}: empty
    customer_note: str = ""


class EditIn(BaseModel):
    billing: dict[str, str] | None = None
    shipping: dict[str, str] | None = None
    customer_note: str | None = None


class StatusIn(BaseModel):
    status: str


class RefundIn(BaseModel):
    line_id: int | None = None  # refund units of this line; None: money only
    quantity: int = 1
    amount: float | None = None
    reason: str = ""


class SecretIn(BaseModel):
    secret: str


class AddressIn(BaseModel):
    delivery_url: str
    topics: list[str] = Field(default_factory=lambda: list(ORDER_TOPICS))
    secret: str | None = None


class FailNextIn(BaseModel):
    status: int = Field(ge=400, le=599)
    retry_after: float | None = None
    method: str | None = None
    path_suffix: str | None = None


class FaultsIn(BaseModel):
    fail_next: list[FailNextIn] | None = None
    rate_limit_per_minute: int | None = None
    strip_authorization: bool | None = None


class DeliveryFaultsIn(BaseModel):
    duplicate_rate: float = Field(default=0.0, ge=0, le=1)
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    reorder: bool = False


def _then(action: Callable[[], None], result: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        action()
        return result

    return run


def build_control_router(sim: WooCommerceSimulator) -> APIRouter:
    """Test control: shops' orders, webhooks, faults. Errors use Woo's JSON error shape."""
    router = APIRouter()

    def run(action: Callable[[], Any], status: int = 200) -> Response:
        try:
            return JSONResponse(action(), status_code=status)
        except WooError as error:
            return _error(error)

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
            sim.faults.fail_next = []
            sim.faults.rate_limit_per_minute = None
            sim.faults.strip_authorization = False
            return sim.faults.as_json()

        return run(action)

    @router.put("/delivery-faults")
    @router.post("/webhooks/faults")  # the same path as every other simulator's
    def delivery_faults(body: DeliveryFaultsIn) -> Response:
        # this simulator's own dispatcher: the other simulators' deliveries are not affected
        sim.dispatcher.faults = DeliveryFaults(**body.model_dump())
        return run(body.model_dump)

    @router.post("/delivery-faults/flush")
    @router.post("/webhooks/flush")
    def flush() -> Response:
        return run(_then(sim.dispatcher.flush, {"flushed": True}))

    return router
