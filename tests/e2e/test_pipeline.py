"""The whole pipeline under faults and safety nets: duplicates, shipping back, hook health, lost messages."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from adapters.platform import ShopWebhook
from tests.e2e.conftest import TIMEOUT
from worker.db.models import InboxEvent, SyncState, utcnow
from worker.db.session import session_scope
from worker.demo import (
    DEMO_SHOP,
    SOURCE_MAGENTO,
    SOURCE_SHOPIFY,
    DemoStack,
    Expect,
    PlannedOrder,
    create_magento_order,
    create_shopify_order,
    create_woocommerce_order,
    mirror_row,
    ship_in_picqer,
    shop_tracking_codes,
    sync_hooks,
    wait_for,
    wait_until_fulfilled,
    wait_until_pushed,
)
from worker.sync.hooks import picqer_hook_address
from worker.sync.inbox import InboxSweeper, shop_event_payload, store_event


def picqer_orders_with_reference(stack: DemoStack, reference: str) -> list[int]:
    return [o["idorder"] for o in stack.control("GET", "picqer/orders") if o["reference"] == reference]


def inbox_rows(stack: DemoStack, source: str) -> list[InboxEvent]:
    with session_scope(stack.engine) as session:
        rows = list(session.exec(select(InboxEvent).where(InboxEvent.source == source)).all())
        session.expunge_all()
        return rows


def wait_until_inbox_processed(stack: DemoStack, source: str) -> None:
    wait_for(
        f"every {source} webhook to be processed",
        lambda: True if all(row.processed_at is not None for row in inbox_rows(stack, source)) else None,
        timeout=TIMEOUT,
    )


def paid_order(stack: DemoStack, platform: str) -> PlannedOrder:
    """A paid order in the platform's simulator; Magento's comes in by its poll (it sends no webhooks)."""
    if platform == "shopify":
        return create_shopify_order(stack, paid=True)
    if platform == "woocommerce":
        return create_woocommerce_order(stack, skus=("IPOD2008GREEN",), expect=Expect.SHIPPED)
    planned = create_magento_order(stack)
    stack.targets().poll_source(SOURCE_MAGENTO)
    return planned


def test_a_shop_webhook_delivered_twice_yields_one_picqer_order(stack: DemoStack) -> None:
    sync_hooks(stack)
    stack.control("PUT", "shopify/faults", json={"duplicate_rate": 1.0})

    planned = create_shopify_order(stack, paid=True)
    wait_until_pushed(stack, [planned], timeout=TIMEOUT)
    wait_until_inbox_processed(stack, SOURCE_SHOPIFY)

    deliveries = stack.control("GET", "shopify/webhooks")["deliveries"]
    assert deliveries
    assert all(item["attempts"] == 2 for item in deliveries)  # every webhook reached the receiver twice
    assert len(inbox_rows(stack, SOURCE_SHOPIFY)) == len(deliveries)  # ... and was stored once
    row = mirror_row(stack, planned)
    assert row is not None
    assert picqer_orders_with_reference(stack, planned.shop_order_number) == [row.idorder]


@pytest.mark.parametrize("platform", ["shopify", "woocommerce", "magento"])
def test_a_shipped_order_is_completed_with_its_tracking_code_and_fulfilled_in_its_shop(
    stack: DemoStack, platform: str
) -> None:
    sync_hooks(stack)
    planned = paid_order(stack, platform)
    wait_until_pushed(stack, [planned], timeout=TIMEOUT)

    shipped = ship_in_picqer(stack, [planned])
    wait_until_fulfilled(stack, [planned], shipped, timeout=TIMEOUT)

    code = shipped[planned.shop_order_id]
    row = mirror_row(stack, planned)
    assert row is not None
    assert (row.sync_state, row.picqer_status, row.trackingcode, row.reported) == (
        SyncState.SYNCED,
        "completed",
        code,
        True,
    )
    recorded = shop_tracking_codes(stack, planned.source)[planned.shop_order_id]
    assert any(code in text for text in recorded)


def test_the_pipeline_runs_on_postgres_with_a_real_redis_too(any_stack: DemoStack) -> None:
    stack = any_stack
    sync_hooks(stack)
    planned = [paid_order(stack, "shopify"), paid_order(stack, "woocommerce")]
    wait_until_pushed(stack, planned, timeout=TIMEOUT)

    shipped = ship_in_picqer(stack, planned)
    wait_until_fulfilled(stack, planned, shipped, timeout=TIMEOUT)

    for order in planned:
        assert len(picqer_orders_with_reference(stack, order.shop_order_number)) == 1


def test_a_picqer_hook_deactivated_in_the_sandbox_is_reactivated_by_the_hook_health_check(
    stack: DemoStack,
) -> None:
    sync_hooks(stack)
    picqer = stack.app.picqer
    address = picqer_hook_address(stack.settings)
    victim = next(hook for hook in picqer.iter_hooks() if hook.event == "orders.completed")
    stack.control("POST", f"picqer/hooks/{victim.idhook}/deactivate")
    assert not picqer.get_hook(victim.idhook).active

    stack.targets().check_hooks()  # the scheduler's "hooks" job

    ours = [hook for hook in picqer.iter_hooks() if hook.address == address]
    assert len(ours) == 5
    assert all(hook.active for hook in ours)
    assert picqer.get_hook(victim.idhook).active


def test_the_inbox_sweeper_processes_an_event_whose_queue_message_was_lost(stack: DemoStack) -> None:
    # no hooks sync: the shop sends nothing, the event below is the only way the order arrives
    order = stack.control(
        "POST", f"shopify/shops/{DEMO_SHOP}/orders", json={"template": "ipod", "financial_status": "paid"}
    )["order"]
    webhook = ShopWebhook(
        topic="orders/create", event_key=f"lost-{order['id']}", shop_order_id=str(order["id"]), order=order
    )
    stored = store_event(
        stack.engine,
        source=SOURCE_SHOPIFY,
        event_key=webhook.event_key,
        topic=webhook.topic,
        payload=shop_event_payload(webhook),
    )  # stored as the receiver stores it, but never enqueued: the message is lost
    planned = PlannedOrder(
        source=SOURCE_SHOPIFY,
        platform="shopify",
        shop_order_id=str(order["id"]),
        shop_order_number=str(order["name"]),
        expect=Expect.SHIPPED,
        description="lost message",
    )
    assert mirror_row(stack, planned) is None

    later = utcnow() + timedelta(minutes=5)  # past the sweeper's grace period
    swept = InboxSweeper(stack.engine, stack.app.enqueue_inbox).sweep(now=later)

    assert swept == 1
    wait_until_pushed(stack, [planned], timeout=TIMEOUT)
    wait_until_inbox_processed(stack, SOURCE_SHOPIFY)
    assert [row.id for row in inbox_rows(stack, SOURCE_SHOPIFY)] == [stored.inbox_id]
    assert len(picqer_orders_with_reference(stack, planned.shop_order_number)) == 1
    assert json.loads(inbox_rows(stack, SOURCE_SHOPIFY)[0].payload)["shop_order_id"] == str(order["id"])


def test_a_woocommerce_webhook_the_shop_disabled_is_reactivated_by_the_hook_health_check(
    stack: DemoStack,
) -> None:
    sync_hooks(stack)
    hooks = stack.control("GET", f"woocommerce/shops/{DEMO_SHOP}/webhooks")
    victim = next(hook for hook in hooks if hook["topic"] == "order.updated")
    # what WooCommerce does after too many failed deliveries
    woo = httpx.Client(
        base_url=f"{stack.sandbox_url}/woocommerce/{DEMO_SHOP}/wp-json/wc/v3/", auth=("ck", "cs")
    )
    woo.put(f"webhooks/{victim['id']}", json={"status": "disabled"}).raise_for_status()

    stack.targets().check_hooks()  # the scheduler's "hooks" job

    after = {hook["id"]: hook for hook in stack.control("GET", f"woocommerce/shops/{DEMO_SHOP}/webhooks")}
    assert after[victim["id"]]["status"] == "active"
    assert all(hook["status"] == "active" for hook in after.values())


def test_the_hook_health_check_never_subscribes_a_shop_by_itself(stack: DemoStack) -> None:
    before = stack.control("GET", f"woocommerce/shops/{DEMO_SHOP}/webhooks")

    stack.targets().check_hooks()  # no `hooks sync` ran: nothing of ours to keep up

    assert stack.control("GET", f"woocommerce/shops/{DEMO_SHOP}/webhooks") == before
