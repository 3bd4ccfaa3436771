"""The Shopify simulator's API shapes and its control endpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sandbox.shopify.templates import template
from tests.shopify.conftest import HOOK_ADDRESS, SHOP, Sandbox

API = f"/shopify/{SHOP}/admin/api/2026-07"
TOKEN = {"X-Shopify-Access-Token": "shpat_test"}


def get(sandbox: Sandbox, url: str) -> Any:
    return sandbox.client.get(url, headers=TOKEN)


def test_auth_errors_and_limits_in_shopify_shape(sandbox: Sandbox) -> None:
    missing = sandbox.client.get(f"{API}/orders.json")
    assert missing.status_code == 401
    assert missing.json()["errors"].startswith("[API] Invalid API key or access token")
    assert get(sandbox, f"{API}/orders.json?limit=251").status_code == 400
    unknown = get(sandbox, f"{API}/orders/123.json")
    assert (unknown.status_code, unknown.json()) == (404, {"errors": "Not Found"})
    assert unknown.headers["X-Shopify-Shop-Api-Call-Limit"] == "2/40"  # the refused call took nothing


def test_pages_link_both_ways_and_refuse_extra_filters(sandbox: Sandbox) -> None:
    ids = [sandbox.sim.create_order(SHOP, template("tshirt"))["id"] for _ in range(5)]
    first = get(sandbox, f"{API}/orders.json?limit=2")
    assert [order["id"] for order in first.json()["orders"]] == ids[:2]
    assert 'rel="previous"' not in first.headers["Link"]
    second = get(sandbox, first.links["next"]["url"])
    assert [order["id"] for order in second.json()["orders"]] == ids[2:4]
    back = get(sandbox, second.links["previous"]["url"])
    assert [order["id"] for order in back.json()["orders"]] == ids[:2]
    last = get(sandbox, second.links["next"]["url"])
    assert [order["id"] for order in last.json()["orders"]] == ids[4:]
    assert "next" not in last.links
    mixed = get(sandbox, first.links["next"]["url"] + "&status=any")
    assert mixed.status_code == 400
    assert "page_info" in mixed.json()["errors"]
    assert get(sandbox, f"{API}/orders.json?page_info=forged").status_code == 400


def test_status_filter_defaults_to_open(sandbox: Sandbox) -> None:
    kept = sandbox.sim.create_order(SHOP, template("ipod"))["id"]
    cancelled = sandbox.sim.create_order(SHOP, template("ipod"))["id"]
    sandbox.sim.cancel(SHOP, cancelled)
    assert [order["id"] for order in get(sandbox, f"{API}/orders.json").json()["orders"]] == [kept]
    everything = get(sandbox, f"{API}/orders.json?status=any").json()["orders"]
    assert [order["id"] for order in everything] == [kept, cancelled]
    assert get(sandbox, f"{API}/orders/count.json?status=cancelled").json() == {"count": 1}


def test_bucket_leaks_with_the_clock(sandbox: Sandbox) -> None:
    sandbox.client.put(f"/_sandbox/shopify/shops/{SHOP}/settings", json={"bucket_size": 2})
    assert get(sandbox, f"{API}/orders.json").status_code == 200
    assert get(sandbox, f"{API}/orders.json").status_code == 200
    throttled = get(sandbox, f"{API}/orders.json")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "0.5")
    sandbox.clock.advance(timedelta(seconds=0.5))
    assert get(sandbox, f"{API}/orders.json").headers["X-Shopify-Shop-Api-Call-Limit"] == "2/2"


def test_control_changes_bump_updated_at_and_fire_webhooks(sandbox: Sandbox) -> None:
    control = f"/_sandbox/shopify/shops/{SHOP}"
    sandbox.client.post(f"{control}/webhook-addresses", json={"address": HOOK_ADDRESS})
    created = sandbox.client.post(
        f"{control}/orders",
        json={"template": "tshirt", "financial_status": "pending", "order": {"note": "hello"}},
    )
    assert created.status_code == 201
    order = created.json()["order"]
    assert (order["financial_status"], order["note"], order["name"]) == ("pending", "hello", "#1001")
    stamps = [order["updated_at"]]
    for path, body in [
        ("pay", None),
        (
            "edit",
            {"shipping_address": {"city": "Utrecht"}, "line_items": [{"sku": "TSHIRT-RED-M", "quantity": 3}]},
        ),
        ("refund", {"line_items": [{"sku": "MUG-LOGO", "quantity": 1}]}),
        ("cancel", {"reason": "inventory"}),
    ]:
        answer = sandbox.client.post(f"{control}/orders/{order['id']}/{path}", json=body)
        assert answer.status_code == 200, answer.text
        stamps.append(answer.json()["order"]["updated_at"])
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    final = sandbox.sim.order(SHOP, order["id"])
    assert final["shipping_address"]["city"] == "Utrecht"
    assert final["shipping_address"]["address1"] == "Keizersgracht 123"
    tshirt, mug = final["line_items"]
    assert (tshirt["current_quantity"], mug["current_quantity"]) == (3, 0)
    assert (final["cancel_reason"], final["financial_status"]) == ("inventory", "refunded")
    assert sandbox.received.topics() == [
        "orders/create",
        "orders/paid",
        "orders/updated",
        "orders/updated",  # edit
        "orders/updated",  # refund
        "orders/cancelled",
        "orders/updated",
    ]
    again = sandbox.client.post(f"{control}/orders/{order['id']}/pay")
    assert again.status_code == 422
    assert "errors" in again.json()


def test_duplicate_faults_resend_the_same_delivery(sandbox: Sandbox) -> None:
    sandbox.client.post(f"/_sandbox/shopify/shops/{SHOP}/webhook-addresses", json={"address": HOOK_ADDRESS})
    sandbox.client.put("/_sandbox/shopify/faults", json={"duplicate_rate": 1.0})
    sandbox.sim.create_order(SHOP, template("ipod"), financial_status="authorized")
    first, second = sandbox.received.requests
    assert first.headers["X-Shopify-Webhook-Id"] == second.headers["X-Shopify-Webhook-Id"]
    outbox = sandbox.client.get("/_sandbox/shopify/webhooks").json()["deliveries"]
    assert [item["topic"] for item in outbox] == ["orders/create"]
    assert sandbox.client.post("/_sandbox/shopify/webhooks/0/redeliver").status_code == 200


def test_seed_demo_has_paid_authorized_and_cancelled_orders(sandbox: Sandbox) -> None:
    sandbox.sim.seed_demo()
    orders = sandbox.sim.orders("demo-shop")
    statuses = [order["financial_status"] for order in orders]
    assert {"paid", "authorized", "refunded", "partially_refunded"} <= set(statuses)
    assert sum(1 for order in orders if order["cancelled_at"]) == 1
    skus = {line["sku"] for order in orders for line in order["line_items"]}
    assert {"IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK", "TSHIRT-RED-M", "MUG-LOGO"} <= skus
