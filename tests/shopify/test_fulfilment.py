"""report_fulfilment and ensure_webhooks against the simulator."""

from __future__ import annotations

import httpx
import pytest

from adapters.platform import Tracking
from adapters.shopify import PLATFORM, ensure_webhooks
from adapters.shopify.fulfilment import report_fulfilment
from adapters.shopify.source import ShopifySource
from sandbox.shopify.templates import template
from tests.shopify.conftest import HOOK_ADDRESS, SHOP, Sandbox
from worker.config import SourceSettings
from worker.errors import ApiRejected

TRACKING = [
    Tracking(
        trackingcode="3SABCD1234567", trackingurl="https://postnl.example/3SABCD1234567", carrier="PostNL"
    ),
    Tracking(trackingcode="3SABCD7654321"),
]


def test_fulfils_with_tracking_once(sandbox: Sandbox) -> None:
    sandbox.client.post(f"/_sandbox/shopify/shops/{SHOP}/webhook-addresses", json={"address": HOOK_ADDRESS})
    order = sandbox.sim.create_order(SHOP, template("mug"))  # a parcel line and a gift card
    source = sandbox.source()

    PLATFORM.report_fulfilment(source, shop_order_id=str(order["id"]), tracking=TRACKING)
    report_fulfilment(source, shop_order_id=str(order["id"]), tracking=TRACKING)  # a retry: no second one

    fulfillments = sandbox.client.get(f"/_sandbox/shopify/shops/{SHOP}/fulfillments").json()["fulfillments"]
    assert len(fulfillments) == 1
    made = fulfillments[0]
    assert (made["tracking_number"], made["tracking_company"]) == ("3SABCD1234567", "PostNL")
    assert made["tracking_url"] == "https://postnl.example/3SABCD1234567"
    assert made["notify_customer"] is True
    assert [(line["sku"], line["quantity"]) for line in made["line_items"]] == [("MUG-LOGO", 3)]
    now = sandbox.sim.order(SHOP, order["id"])
    assert now["fulfillment_status"] == "fulfilled"
    assert sandbox.received.topics()[-1] == "orders/updated"  # the shop tells its subscribers


def test_cancelled_order_is_not_fulfilled(sandbox: Sandbox) -> None:
    order = sandbox.sim.create_order(SHOP, template("ipod"))
    sandbox.sim.cancel(SHOP, order["id"])
    report_fulfilment(sandbox.source(), shop_order_id=str(order["id"]), tracking=TRACKING)
    assert sandbox.sim.fulfillments(SHOP) == []


def test_partly_refunded_order_ships_what_is_left(sandbox: Sandbox) -> None:
    order = sandbox.sim.create_order(SHOP, template("tshirt"))
    sandbox.sim.refund(SHOP, order["id"], [{"sku": "TSHIRT-RED-M", "quantity": 1}])
    report_fulfilment(sandbox.source(), shop_order_id=str(order["id"]), tracking=[])
    [made] = sandbox.sim.fulfillments(SHOP)
    assert sorted((line["sku"], line["quantity"]) for line in made["line_items"]) == [
        ("MUG-LOGO", 1),
        ("TSHIRT-RED-M", 1),
    ]
    assert made["tracking_number"] is None


def _fake_shop(post_status: int, still_open_after: bool) -> tuple[httpx.MockTransport, list[str]]:
    calls: list[str] = []
    reads = iter([True, still_open_after])

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path.rsplit('/', 1)[-1]}")
        if request.method == "POST":
            return httpx.Response(
                post_status, json={"errors": ["Fulfillment order 5 has an unfulfillable status"]}
            )
        line = {"id": 1, "fulfillable_quantity": 1 if next(reads) else 0}
        return httpx.Response(
            200, json={"fulfillment_orders": [{"id": 5, "status": "open", "line_items": [line]}]}
        )

    return httpx.MockTransport(handler), calls


def test_rejected_post_after_someone_else_fulfilled_is_success() -> None:
    transport, calls = _fake_shop(422, still_open_after=False)
    settings = SourceSettings(name="s", platform="shopify", url="https://s.myshopify.com", access_token="t")
    report_fulfilment(ShopifySource(settings, transport=transport), shop_order_id="9", tracking=TRACKING)
    assert calls == ["GET fulfillment_orders.json", "POST fulfillments.json", "GET fulfillment_orders.json"]


def test_rejected_post_with_work_still_open_raises() -> None:
    transport, _ = _fake_shop(422, still_open_after=True)
    settings = SourceSettings(name="s", platform="shopify", url="https://s.myshopify.com", access_token="t")
    with pytest.raises(ApiRejected):
        report_fulfilment(ShopifySource(settings, transport=transport), shop_order_id="9", tracking=TRACKING)


def test_ensure_webhooks_is_idempotent(sandbox: Sandbox) -> None:
    source = sandbox.source()
    first = ensure_webhooks(source, HOOK_ADDRESS)
    second = ensure_webhooks(source, HOOK_ADDRESS)
    assert sorted(hook["topic"] for hook in first) == sorted(PLATFORM.webhook_topics)
    assert sorted(hook["id"] for hook in second) == sorted(hook["id"] for hook in first)
    listed = sandbox.client.get(
        f"/shopify/{SHOP}/admin/api/2026-07/webhooks.json", headers={"X-Shopify-Access-Token": "t"}
    ).json()["webhooks"]
    assert len(listed) == 4
    sandbox.sim.create_order(SHOP, template("ipod"))
    assert sandbox.received.topics() == ["orders/create", "orders/paid"]
