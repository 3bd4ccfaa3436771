"""The simulator's API and control endpoints behave as WooCommerce does where the adapter relies on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
from fastapi.testclient import TestClient

from adapters.woocommerce import ORDER_TOPICS, ensure_webhooks
from adapters.woocommerce.source import WooCommerceSource
from sandbox.clock import Clock
from sandbox.woocommerce import WooCommerceSimulator
from tests.woocommerce.conftest import KEY, RECEIVER, SECRET, SHOP, WEBHOOK_SECRET, AppTransport, Receiver

API = f"http://sandbox.test/woocommerce/{SHOP}/wp-json/wc/v3/"


def api(transport: AppTransport) -> httpx.Client:
    return httpx.Client(base_url=API, transport=transport, auth=(KEY, SECRET))


def test_per_page_over_100_is_rest_invalid_param(transport: AppTransport) -> None:
    answer = api(transport).get("orders", params={"per_page": 101})
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "rest_invalid_param"
    assert body["data"]["status"] == 400
    assert "per_page" in body["data"]["params"]


def test_errors_have_the_wordpress_shape(transport: AppTransport) -> None:
    answer = httpx.Client(base_url=API, transport=transport).get("orders")
    assert answer.status_code == 401
    assert answer.json() == {
        "code": "woocommerce_rest_authentication_error",
        "message": "Consumer key is missing.",
        "data": {"status": 401},
    }
    missing = api(transport).get("orders/999")
    assert (missing.status_code, missing.json()["code"]) == (404, "woocommerce_rest_shop_order_invalid_id")


def test_pagination_headers_and_link(
    sim: WooCommerceSimulator, clock: Clock, transport: AppTransport
) -> None:
    for _ in range(5):
        sim.create_order(SHOP, line_items=[{"sku": "A"}])
        clock.advance(timedelta(seconds=1))
    answer = api(transport).get(
        "orders", params={"per_page": 2, "page": 2, "consumer_key": KEY, "consumer_secret": SECRET}
    )
    assert (answer.headers["X-WP-Total"], answer.headers["X-WP-TotalPages"]) == ("5", "3")
    assert 'rel="next"' in answer.headers["Link"]
    assert 'rel="prev"' in answer.headers["Link"]
    assert "page=3" in answer.headers["Link"]
    assert SECRET not in answer.headers["Link"]
    ids = [order["id"] for order in answer.json()]
    assert ids == sorted(ids, reverse=True)  # Woo's default order is newest first


def test_modified_after_is_exclusive_and_site_time_unless_gmt(
    sim: WooCommerceSimulator, clock: Clock, transport: AppTransport
) -> None:
    first = sim.create_order(SHOP, line_items=[{"sku": "A"}])
    clock.advance(timedelta(seconds=10))
    second = sim.create_order(SHOP, line_items=[{"sku": "B"}])
    gmt = {"modified_after": first["date_modified_gmt"], "dates_are_gmt": "true"}
    assert [o["id"] for o in api(transport).get("orders", params=gmt).json()] == [second["id"]]
    # without dates_are_gmt the bound is site time (GMT+2 here); read as GMT it lies 2 h later
    local = {"modified_after": first["date_modified"]}
    assert [o["id"] for o in api(transport).get("orders", params=local).json()] == [second["id"]]
    assert api(transport).get("orders", params={**local, "dates_are_gmt": "true"}).json() == []


def test_status_any_leaves_the_trash_out(sim: WooCommerceSimulator, transport: AppTransport) -> None:
    kept = sim.create_order(SHOP, line_items=[{"sku": "A"}])
    trashed = sim.create_order(SHOP, line_items=[{"sku": "B"}])
    sim.trash(SHOP, trashed["id"])
    assert [o["id"] for o in api(transport).get("orders", params={"status": "any"}).json()] == [kept["id"]]
    assert [o["id"] for o in api(transport).get("orders", params={"status": "trash"}).json()] == [
        trashed["id"]
    ]


def test_control_endpoints_drive_an_order_through_its_life(
    control: TestClient, sim: WooCommerceSimulator, receiver: Receiver
) -> None:
    hooks = control.post(f"shops/{SHOP}/webhooks", json={"delivery_url": RECEIVER, "secret": WEBHOOK_SECRET})
    assert hooks.status_code == 201
    assert [hook["topic"] for hook in hooks.json()] == list(ORDER_TOPICS)
    created = control.post(
        f"shops/{SHOP}/orders",
        json={"status": "pending", "line_items": [{"sku": "MUG-LOGO", "quantity": 2}], "shipping": {}},
    )
    assert created.status_code == 201
    order = created.json()
    assert order["status"] == "pending"
    assert order["shipping"]["address_1"] == ""
    paid = control.post(f"shops/{SHOP}/orders/{order['id']}/pay").json()
    assert paid["status"] == "processing"
    assert paid["date_paid_gmt"] is not None
    line = order["line_items"][0]["id"]
    refunded = control.post(
        f"shops/{SHOP}/orders/{order['id']}/refund", json={"line_id": line, "quantity": 2}
    )
    assert refunded.json()["status"] == "refunded"  # every unit back: Woo marks it refunded
    edited = control.post(f"shops/{SHOP}/orders/{order['id']}/edit", json={"shipping": {"city": "Utrecht"}})
    assert edited.json()["shipping"]["city"] == "Utrecht"
    control.post(f"shops/{SHOP}/orders/{order['id']}/trash")
    control.post(f"shops/{SHOP}/orders/{order['id']}/restore")
    assert control.delete(f"shops/{SHOP}/orders/{order['id']}").status_code == 200
    assert control.get(f"shops/{SHOP}/orders/{order['id']}").status_code == 404
    topics = [delivery["topic"] for delivery in control.get("webhooks", params={"shop": SHOP}).json()]
    assert topics == ["ping"] * 4 + [
        "order.created",
        "order.updated",  # paid
        "order.updated",  # refunded
        "order.updated",  # edited
        "order.deleted",
        "order.restored",
        "order.deleted",  # deleted for good while outside the trash
    ]
    assert receiver.topics() == topics


def test_webhook_is_disabled_after_more_than_five_failures(
    sim: WooCommerceSimulator, receiver: Receiver
) -> None:
    (hook,) = [sim.create_webhook(SHOP, topic="order.updated", delivery_url=RECEIVER)]
    order = sim.create_order(SHOP, line_items=[{"sku": "A"}])
    receiver.status = 500
    for _ in range(6):
        sim.edit(SHOP, order["id"], customer_note="again")
    assert sim.get_webhook(SHOP, hook["id"])["status"] == "disabled"
    sent = len(receiver.received)
    sim.edit(SHOP, order["id"], customer_note="not delivered")
    assert len(receiver.received) == sent


def test_ensure_webhooks_creates_once_and_reactivates(
    sim: WooCommerceSimulator, make_source: Callable[..., WooCommerceSource], receiver: Receiver
) -> None:
    source = make_source()
    first = ensure_webhooks(source, RECEIVER, WEBHOOK_SECRET)
    assert sorted(hook["topic"] for hook in first) == sorted(ORDER_TOPICS)
    assert receiver.topics() == ["ping"] * 4
    sim.update_webhook(SHOP, first[1]["id"], {"status": "disabled"})
    again = ensure_webhooks(source, RECEIVER, WEBHOOK_SECRET)
    assert [hook["id"] for hook in again] == [hook["id"] for hook in first]
    assert all(hook["status"] == "active" for hook in again)
    assert len(sim.list_webhooks(SHOP)) == 4


def test_seed_demo_has_paid_orders_with_the_picqer_skus_and_one_pending(sim: WooCommerceSimulator) -> None:
    sim.seed_demo()
    orders = list(sim.shop("demo-shop").orders.values())
    skus = {line["sku"] for order in orders for line in order["line_items"]}
    assert skus == {"TSHIRT-RED-M", "MUG-LOGO", "IPOD2008GREEN"}
    assert sorted(order["status"] for order in orders) == [
        "pending",
        "processing",
        "processing",
        "processing",
    ]
    sim.reset()
    assert sim.shop("demo-shop").orders == {}
