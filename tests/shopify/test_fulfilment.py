"""report_fulfilment and ensure_webhooks against the simulator."""

from __future__ import annotations

import json

import httpx
import pytest

from adapters.platform import Tracking
from adapters.shopify import PLATFORM, ensure_webhooks
from adapters.shopify.fulfilment import report_fulfilment
from adapters.shopify.source import ShopifySource
from adapters.shopify.subscriptions import delete_webhook, list_webhooks
from adapters.shopify.webhooks import verify_webhook
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


def _fake_shop(still_open_after: bool) -> tuple[httpx.MockTransport, list[str]]:
    """A shop whose fulfillmentCreate answers userErrors (someone else fulfilled it, or not)."""
    calls: list[str] = []
    reads = iter([True, still_open_after])

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        name = body["query"].split("(", 1)[0].split()[-1]
        calls.append(name)
        if name == "SyncFulfillmentCreate":
            errors = [
                {"field": ["fulfillment"], "message": "Fulfillment order 5 has an unfulfillable status"}
            ]
            return httpx.Response(
                200, json={"data": {"fulfillmentCreate": {"fulfillment": None, "userErrors": errors}}}
            )
        line = {
            "id": "gid://shopify/FulfillmentOrderLineItem/1",
            "remainingQuantity": 1 if next(reads) else 0,
        }
        fulfillment_order = {
            "id": "gid://shopify/FulfillmentOrder/5",
            "status": "OPEN",
            "lineItems": {"nodes": [line]},
        }
        order = {"fulfillments": [], "fulfillmentOrders": {"nodes": [fulfillment_order]}}
        return httpx.Response(200, json={"data": {"order": order}})

    return httpx.MockTransport(handler), calls


def test_refused_fulfilment_after_someone_else_fulfilled_is_success() -> None:
    transport, calls = _fake_shop(still_open_after=False)
    settings = SourceSettings(name="s", platform="shopify", url="https://s.myshopify.com", access_token="t")
    report_fulfilment(ShopifySource(settings, transport=transport), shop_order_id="9", tracking=TRACKING)
    assert calls == ["SyncFulfillmentOrders", "SyncFulfillmentCreate", "SyncFulfillmentOrders"]


def test_refused_fulfilment_with_work_still_open_raises_the_user_errors() -> None:
    transport, _ = _fake_shop(still_open_after=True)
    settings = SourceSettings(name="s", platform="shopify", url="https://s.myshopify.com", access_token="t")
    with pytest.raises(ApiRejected) as caught:
        report_fulfilment(ShopifySource(settings, transport=transport), shop_order_id="9", tracking=TRACKING)
    assert caught.value.error_message == "fulfillment: Fulfillment order 5 has an unfulfillable status"


def test_every_tracking_number_and_url_of_a_shipment_is_reported(sandbox: Sandbox) -> None:
    order = sandbox.sim.create_order(SHOP, template("ipod"))
    parcels = [
        Tracking("3S0001", "https://postnl.example/3S0001", "PostNL", idpicklist=7),
        Tracking("3S0002", "https://postnl.example/3S0002", "PostNL", idpicklist=7),
    ]
    report_fulfilment(sandbox.source(), shop_order_id=str(order["id"]), tracking=parcels)
    [made] = sandbox.sim.fulfillments(SHOP)
    assert made["tracking_numbers"] == ["3S0001", "3S0002"]
    assert made["tracking_urls"] == ["https://postnl.example/3S0001", "https://postnl.example/3S0002"]
    assert sandbox.sim.order(SHOP, order["id"])["fulfillment_status"] == "fulfilled"


def test_one_fulfilment_per_picklist_when_an_order_ships_in_parts(sandbox: Sandbox) -> None:
    order = sandbox.sim.create_order(SHOP, template("tshirt"))  # TSHIRT-RED-M x2, MUG-LOGO x1
    parcels = [
        Tracking("3S0001", carrier="PostNL", idpicklist=1, products=(("TSHIRT-RED-M", 2),)),
        Tracking("3S0002", carrier="PostNL", idpicklist=2, products=(("MUG-LOGO", 1),)),
    ]
    source = sandbox.source()
    report_fulfilment(source, shop_order_id=str(order["id"]), tracking=parcels)
    report_fulfilment(source, shop_order_id=str(order["id"]), tracking=parcels)  # a retry sends nothing
    first, second = sandbox.sim.fulfillments(SHOP)
    assert (first["tracking_numbers"], [(line["sku"], line["quantity"]) for line in first["line_items"]]) == (
        ["3S0001"],
        [("TSHIRT-RED-M", 2)],
    )
    assert (
        second["tracking_numbers"],
        [(line["sku"], line["quantity"]) for line in second["line_items"]],
    ) == (
        ["3S0002"],
        [("MUG-LOGO", 1)],
    )


def test_picklists_without_their_products_ship_as_one_fulfilment(sandbox: Sandbox) -> None:
    order = sandbox.sim.create_order(SHOP, template("tshirt"))
    parcels = [Tracking("3S0001", idpicklist=1), Tracking("3S0002", idpicklist=2)]
    report_fulfilment(sandbox.source(), shop_order_id=str(order["id"]), tracking=parcels)
    [made] = sandbox.sim.fulfillments(SHOP)
    assert made["tracking_numbers"] == ["3S0001", "3S0002"]


def test_client_credentials_app_creates_webhooks_signed_with_its_client_secret(sandbox: Sandbox) -> None:
    creds = sandbox.app()
    source = sandbox.source(
        access_token=None, client_id=creds["client_id"], client_secret=creds["client_secret"]
    )
    made = ensure_webhooks(source, HOOK_ADDRESS)
    assert all(hook["admin_graphql_api_id"].startswith("gid://shopify/WebhookSubscription/") for hook in made)
    sandbox.sim.create_order(SHOP, template("ipod"))
    settings = sandbox.settings(
        access_token=None,
        webhook_secret=None,
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
    )
    for request in sandbox.received.requests:
        assert verify_webhook(request.content, dict(request.headers), settings).shop_order_id
    delete_webhook(source, made[0]["id"])
    assert len(list_webhooks(source)) == 3
    again = ensure_webhooks(source, HOOK_ADDRESS)  # the deleted one is made again, the others left alone
    assert sorted(hook["topic"] for hook in again) == sorted(PLATFORM.webhook_topics)
    assert len(list_webhooks(source)) == 4


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
