"""Test control of the Shopify simulator (mounted at ``/_sandbox/shopify``): what a merchant does.

Each order change moves ``updated_at`` and sends the signed webhooks Shopify would send to the
store's subscriptions (made here with ``webhook-addresses`` or through ``webhooks.json``).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field

from sandbox.bodies import ControlBody
from sandbox.delivery import DeliveryFaultsBody
from sandbox.shopify.errors import StoreError
from sandbox.shopify.ports import ControlPort
from sandbox.shopify.templates import template
from sandbox.shopify.webhooks import DEFAULT_TOPICS


class NewOrder(ControlBody):
    """An order from a template, with any REST order fields laid over it (``order``)."""

    template: str = "ipod"
    financial_status: Literal["pending", "authorized", "partially_paid", "paid"] = "paid"
    order: dict[str, Any] = Field(default_factory=dict)


class BulkOrders(ControlBody):
    """Many orders from one template at once (benchmarks): one ``spacing_seconds`` apart, the last
    one now; no webhooks."""

    count: int = Field(ge=1, le=1_000_000)
    template: str = "ipod"
    financial_status: Literal["pending", "authorized", "partially_paid", "paid"] = "paid"
    spacing_seconds: float = Field(default=1.0, ge=0)


class Settings(ControlBody):
    webhook_secret: str | None = None
    access_token: str | None = None  # "" accepts any token again
    bucket_size: int | None = Field(default=None, ge=0)  # 0: no limit
    leak_per_second: float | None = Field(default=None, gt=0)
    cost_maximum: float | None = Field(default=None, gt=0)  # the GraphQL cost bucket, in points
    cost_restore: float | None = Field(default=None, gt=0)  # points restored per second


class WebhookAddress(ControlBody):
    address: str
    topics: list[str] = Field(default_factory=lambda: list(DEFAULT_TOPICS))


class LineChange(ControlBody):
    id: int | None = None
    sku: str | None = None
    quantity: int = Field(ge=0)

    def ref(self) -> dict[str, Any]:
        return {"id": self.id} if self.id is not None else {"sku": self.sku}


class OrderEdit(ControlBody):
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    email: str | None = None
    phone: str | None = None
    note: str | None = None
    line_items: list[LineChange] = Field(default_factory=list)  # new quantities


class Refund(ControlBody):
    line_items: list[LineChange]  # quantities to refund


class Cancel(ControlBody):
    reason: Literal["customer", "fraud", "inventory", "declined", "other"] = "customer"


def build_control_router(sim: ControlPort) -> APIRouter:
    router = APIRouter()

    def guarded(work: Any) -> Any:
        try:
            return work()
        except StoreError as error:
            return JSONResponse({"errors": error.errors}, status_code=error.status)
        except KeyError as error:  # unknown template
            return JSONResponse({"errors": str(error.args[0])}, status_code=422)

    @router.post("/reset")
    def reset() -> dict[str, bool]:
        sim.reset()
        return {"ok": True}

    @router.post("/seed")
    def seed() -> dict[str, int]:
        sim.seed_demo()
        return {"orders": len(sim.orders("demo-shop"))}

    @router.put("/faults")
    @router.post("/webhooks/faults")  # the same path as every other simulator's
    def set_faults(faults: DeliveryFaultsBody) -> dict[str, Any]:
        sim.dispatcher.faults = faults.faults()
        return faults.model_dump()

    @router.post("/faults/flush")
    @router.post("/webhooks/flush")
    def flush() -> dict[str, bool]:
        sim.dispatcher.flush()
        return {"ok": True}

    @router.get("/webhooks")
    def outbox() -> dict[str, Any]:
        return {"deliveries": [item.as_json() for item in sim.deliveries()]}

    @router.post("/webhooks/{index}/redeliver")
    def redeliver(index: int) -> Any:
        if not 0 <= index < len(sim.deliveries()):
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        return sim.redeliver(index).as_json()

    @router.put("/shops/{shop}/settings")
    def configure(shop: str, settings: Settings) -> dict[str, Any]:
        return sim.configure(shop, **settings.model_dump())

    @router.post("/shops/{shop}/webhook-addresses", status_code=201)
    def add_address(shop: str, body: WebhookAddress) -> Any:
        def work() -> dict[str, Any]:
            made = []
            for topic in body.topics:
                try:
                    made.append(sim.subscribe(shop, topic, body.address).as_json())
                except StoreError as error:
                    if error.status != 422 or "address" not in error.errors:
                        raise  # an invalid topic or address; an existing one is fine
            return {"webhooks": made}

        return guarded(work)

    @router.get("/shops/{shop}/orders")
    def list_orders(shop: str) -> dict[str, Any]:
        return {"orders": sim.orders(shop)}

    @router.post("/shops/{shop}/orders", status_code=201)
    def create(shop: str, body: NewOrder) -> Any:
        return guarded(
            lambda: {
                "order": sim.create_order(
                    shop, {**template(body.template), **body.order}, financial_status=body.financial_status
                )
            }
        )

    @router.post("/shops/{shop}/orders/bulk", status_code=201)
    def create_many(shop: str, body: BulkOrders) -> Any:
        return guarded(
            lambda: {
                "orders": sim.seed_orders(
                    shop,
                    body.count,
                    template_name=body.template,
                    financial_status=body.financial_status,
                    spacing_seconds=body.spacing_seconds,
                )
            }
        )

    @router.post("/shops/{shop}/orders/{order_id}/pay")
    def pay(shop: str, order_id: int) -> Any:
        return guarded(lambda: {"order": sim.pay(shop, order_id)})

    @router.post("/shops/{shop}/orders/{order_id}/edit")
    def edit(shop: str, order_id: int, body: OrderEdit) -> Any:
        changes = body.model_dump(exclude_unset=True, exclude={"line_items"})
        changes["line_items"] = [{**line.ref(), "quantity": line.quantity} for line in body.line_items]
        return guarded(lambda: {"order": sim.edit(shop, order_id, changes)})

    @router.post("/shops/{shop}/orders/{order_id}/refund")
    def refund(shop: str, order_id: int, body: Refund) -> Any:
        items = [{**line.ref(), "quantity": line.quantity} for line in body.line_items]
        return guarded(lambda: {"order": sim.refund(shop, order_id, items)})

    @router.post("/shops/{shop}/orders/{order_id}/cancel")
    def cancel(shop: str, order_id: int, body: Cancel | None = None) -> Any:
        reason = body.reason if body else "customer"
        return guarded(lambda: {"order": sim.cancel(shop, order_id, reason=reason)})

    @router.get("/shops/{shop}/fulfillments")
    def fulfillments(shop: str) -> dict[str, Any]:
        return {"fulfillments": sim.fulfillments(shop)}

    return router
