"""The demo's story: point the hooks at the receiver, make orders in each shop, ship them in Picqer."""

from __future__ import annotations

from worker.demo.errors import DemoError
from worker.demo.observe import mirror_row
from worker.demo.plan import Expect, PlannedOrder
from worker.demo.settings import DEMO_SHOP, SOURCE_MAGENTO, SOURCE_SHOPIFY, SOURCE_WOOCOMMERCE
from worker.demo.stack import DemoStack
from worker.sync.hooks import HookResult, picqer_hook_address, sync_picqer_hooks, sync_shop_webhooks

UNKNOWN_SKU = "NOT-IN-PICQER"  # no such product in the seeded Picqer: the order must fail, readably


def sync_hooks(stack: DemoStack) -> list[HookResult]:
    """``hooks sync``: the Picqer hooks and the shops' order webhooks, pointing at the receiver.

    Shopify signs the webhooks of a client-credentials app with its client secret; WooCommerce takes
    the secret with each webhook ``hooks sync`` creates.
    """
    results = sync_picqer_hooks(
        stack.app.picqer,
        stack.engine,
        address=picqer_hook_address(stack.settings),
        secret=stack.settings.picqer.webhook_secret.get_secret_value(),
    )
    results += sync_shop_webhooks(stack.settings, stack.engine)
    failed = [result for result in results if result.action == "failed"]
    if failed:
        raise DemoError(
            "hooks sync failed: " + "; ".join(f"{r.target} {r.event}: {r.detail}" for r in failed)
        )
    return results


def create_shopify_order(stack: DemoStack, *, paid: bool, template: str = "ipod") -> PlannedOrder:
    body = {"template": template, "financial_status": "paid" if paid else "pending"}
    order = stack.control("POST", f"shopify/shops/{DEMO_SHOP}/orders", json=body)["order"]
    return PlannedOrder(
        source=SOURCE_SHOPIFY,
        platform="shopify",
        shop_order_id=str(order["id"]),
        shop_order_number=str(order["name"]),
        expect=Expect.SHIPPED if paid else Expect.SKIPPED,
        description="paid, by webhook" if paid else "unpaid (pending), by webhook",
    )


def create_woocommerce_order(stack: DemoStack, *, skus: tuple[str, ...], expect: Expect) -> PlannedOrder:
    body = {
        "status": "processing",  # WooCommerce's "paid, ship it"
        "line_items": [{"sku": sku, "name": sku, "quantity": 1, "price": 25.0} for sku in skus],
    }
    order = stack.control("POST", f"woocommerce/shops/{DEMO_SHOP}/orders", json=body)
    description = "paid, by webhook" if expect is Expect.SHIPPED else f"paid, SKU {UNKNOWN_SKU}, by webhook"
    return PlannedOrder(
        source=SOURCE_WOOCOMMERCE,
        platform="woocommerce",
        shop_order_id=str(order["id"]),
        shop_order_number=str(order["number"]),
        expect=expect,
        description=description,
    )


def create_magento_order(stack: DemoStack) -> PlannedOrder:
    body = {
        "paid": True,  # invoiced: state "processing"
        "items": [
            {"sku": "WS12-M-Orange", "name": "Radiant Tee-M-Orange", "price": 22, "qty": 2},
            {"sku": "24-WG084", "name": "Sprite Foam Yoga Brick", "price": 5, "qty": 1},
        ],
    }
    order = stack.control("POST", f"magento/shops/{DEMO_SHOP}/orders", json=body)
    return PlannedOrder(
        source=SOURCE_MAGENTO,
        platform="magento",
        shop_order_id=str(order["entity_id"]),
        shop_order_number=str(order["increment_id"]),
        expect=Expect.SHIPPED,
        description="paid, by poll",
    )


def create_demo_orders(stack: DemoStack) -> list[PlannedOrder]:
    """Three paid orders (one per platform), one that must fail, one unpaid; then poll Magento.

    Shopify and WooCommerce send their webhooks as each order is made; Magento sends none, so its
    poll job is fired now instead of waiting for the scheduler.
    """
    planned = [
        create_shopify_order(stack, paid=True),
        create_woocommerce_order(stack, skus=("IPOD2008RED", "240-LV08"), expect=Expect.SHIPPED),
        create_magento_order(stack),
        create_woocommerce_order(stack, skus=("IPOD2008BLACK", UNKNOWN_SKU), expect=Expect.FAILED),
        create_shopify_order(stack, paid=False),
    ]
    stack.targets().poll_source(SOURCE_MAGENTO)
    return planned


def ship_in_picqer(stack: DemoStack, planned: list[PlannedOrder]) -> dict[str, str]:
    """The warehouse ships every pushed order; returns ``{shop_order_id: trackingcode}``."""
    shipped: dict[str, str] = {}
    for order in planned:
        if order.expect is not Expect.SHIPPED:
            continue
        row = mirror_row(stack, order)
        if row is None or row.idorder is None:
            raise DemoError(f"{order.source} order {order.shop_order_number} is not in Picqer")
        answer = stack.control("POST", f"picqer/orders/{row.idorder}/ship", json={})
        shipped[order.shop_order_id] = str(answer["shipments"][0]["trackingcode"])
    return shipped
