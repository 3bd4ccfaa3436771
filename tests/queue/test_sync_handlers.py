"""``SyncHandlers`` (what the actors call) and the Picqer hook health jobs, against the sandbox.

Each handler is called directly, as an actor would with its message's arguments; the follow-up work
it asks for (a fulfilment report) is read off its outcome instead of enqueued.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from adapters.picqer.client import PicqerClient
from adapters.platform import ShopWebhook
from adapters.registry import get_platform
from sandbox.app import create_sandbox_app
from tests.queue.fakes import WEBHOOK_SECRET, make_settings
from tests.support.liveserver import serve
from worker.app import build_app
from worker.config import PicqerSettings, SourceSettings
from worker.db import orders
from worker.db.migrate import upgrade_database
from worker.db.models import InboxEvent, Order
from worker.db.session import make_engine, session_scope
from worker.sync.handlers import SyncHandlers
from worker.sync.hooks import PICQER_HOOK_EVENTS, check_picqer_hooks, sync_picqer_hooks
from worker.sync.inbox import PICQER_INBOX_SOURCE, shop_event_payload, store_event

SHOPIFY_CONTROL = "/_sandbox/shopify/shops/demo-shop"
WOO_CONTROL = "/_sandbox/woocommerce/shops/demo-shop"


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with serve(create_sandbox_app(rate_limit=None, seed=True)) as base:
        yield base


@pytest.fixture
def engine(sandbox_url: str, tmp_path: Path) -> Iterator[Engine]:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    database_url = f"sqlite:///{tmp_path / 'mirror.db'}"
    upgrade_database(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def handlers(sandbox_url: str, engine: Engine) -> Iterator[SyncHandlers]:
    settings = make_settings(
        database_url=str(engine.url),
        picqer=PicqerSettings(
            url=f"{sandbox_url}/picqer/api/v1/",
            api_key=SecretStr("key"),
            webhook_secret=SecretStr(WEBHOOK_SECRET),
        ),
        sources=[
            SourceSettings(
                name="shop-nl",
                platform="shopify",
                url=f"{sandbox_url}/shopify/demo-shop",
                access_token=SecretStr("token"),
            ),
            SourceSettings(
                name="woo",
                platform="woocommerce",
                url=f"{sandbox_url}/woocommerce/demo-shop",
                consumer_key=SecretStr("ck_demo-shop"),
                consumer_secret=SecretStr("cs_demo-shop"),
                on_cancel_processing="force_cancel",
            ),
            SourceSettings(
                name="mage",
                platform="magento",
                url=f"{sandbox_url}/magento/demo-shop",
                consumer_key=SecretStr("demo-shop-consumer-key"),
                consumer_secret=SecretStr("demo-shop-consumer-secret"),
                access_token=SecretStr("demo-shop-access-token"),
                access_token_secret=SecretStr("demo-shop-access-token-secret"),
            ),
        ],
    )
    with build_app(settings, engine=engine) as app:
        assert isinstance(app.handlers, SyncHandlers)
        yield app.handlers


@pytest.fixture
def picqer(sandbox_url: str) -> Iterator[PicqerClient]:
    with PicqerClient(f"{sandbox_url}/picqer/api/v1/", "key") as client:
        yield client


def shop_event(engine: Engine, source: str, webhook: ShopWebhook) -> int:
    return store_event(
        engine,
        source=source,
        event_key=webhook.event_key,
        topic=webhook.topic,
        payload=shop_event_payload(webhook),
    ).inbox_id


def picqer_orders(sandbox_url: str) -> dict[str, dict[str, Any]]:
    return {order["reference"]: order for order in httpx.get(f"{sandbox_url}/_sandbox/picqer/orders").json()}


def picqer_request_count(sandbox_url: str) -> int:
    return len(httpx.get(f"{sandbox_url}/_sandbox/picqer/requests").json())


def mirror_order(engine: Engine, source: str, shop_order_id: str) -> Order:
    with session_scope(engine) as session:
        row = orders.get_order(session, source=source, shop_order_id=shop_order_id)
    assert row is not None
    return row


def shopify_order(sandbox_url: str, name: str) -> dict[str, Any]:
    listed = httpx.get(f"{sandbox_url}{SHOPIFY_CONTROL}/orders").json()["orders"]
    return next(order for order in listed if order["name"] == name)


# -- shop events --------------------------------------------------------------------------------


def test_a_shop_event_with_the_order_body_is_pushed_as_given(
    handlers: SyncHandlers, engine: Engine, sandbox_url: str
) -> None:
    raw = shopify_order(sandbox_url, "#1001")
    raw["shipping_address"]["city"] = "Body City"  # only the body says so: proves it was not fetched
    inbox_id = shop_event(engine, "shop-nl", ShopWebhook("orders/paid", "delivery-1", str(raw["id"]), raw))

    handlers.process_shop_event(inbox_id)

    [order] = picqer_orders(sandbox_url).values()
    assert (order["reference"], order["status"], order["deliverycity"]) == (
        "#1001",
        "processing",
        "Body City",
    )
    with session_scope(engine) as session:
        assert session.get(InboxEvent, inbox_id).processed_at is not None  # type: ignore[union-attr]
    requests = picqer_request_count(sandbox_url)
    handlers.process_shop_event(inbox_id)  # the same message again (a redelivery)
    assert picqer_request_count(sandbox_url) == requests


def test_a_woocommerce_body_with_refund_totals_is_read_from_the_shop(
    handlers: SyncHandlers, engine: Engine, sandbox_url: str
) -> None:
    order = httpx.get(f"{sandbox_url}{WOO_CONTROL}/orders/1001").json()
    line = order["line_items"][0]  # TSHIRT-RED-M x 2
    httpx.post(
        f"{sandbox_url}{WOO_CONTROL}/orders/1001/refund", json={"line_id": line["id"], "quantity": 1}
    ).raise_for_status()
    body = httpx.get(f"{sandbox_url}{WOO_CONTROL}/orders/1001").json()
    assert get_platform("woocommerce").needs_full_order(body)  # type: ignore[misc]  # refunds as totals
    body["shipping"]["city"] = "Body City"
    inbox_id = shop_event(engine, "woo", ShopWebhook("order.updated", "woo-1", "1001", body))

    handlers.process_shop_event(inbox_id)

    pushed = picqer_orders(sandbox_url)["1001"]
    assert [(p["productcode"], p["amount"]) for p in pushed["products"]] == [("TSHIRT-RED-M", 1)]
    assert pushed["deliverycity"] != "Body City"  # the shop's order, not the body


def test_a_deleted_shop_order_cancels_its_picqer_order(
    handlers: SyncHandlers, engine: Engine, sandbox_url: str
) -> None:
    body = httpx.get(f"{sandbox_url}{WOO_CONTROL}/orders/1002").json()
    handlers.process_shop_event(
        shop_event(engine, "woo", ShopWebhook("order.created", "woo-2", "1002", body))
    )
    assert picqer_orders(sandbox_url)["1002"]["status"] == "processing"

    deleted = ShopWebhook("order.deleted", "woo-3", "1002", deleted=True)
    handlers.process_shop_event(shop_event(engine, "woo", deleted))

    assert picqer_orders(sandbox_url)["1002"]["status"] == "cancelled"  # force_cancel for this source
    assert mirror_order(engine, "woo", "1002").sync_state == "cancelled"

    never_pushed = ShopWebhook("order.deleted", "woo-4", "1003", deleted=True)
    handlers.process_shop_event(shop_event(engine, "woo", never_pushed))
    assert "1003" not in picqer_orders(sandbox_url)


def test_push_shop_order_fetches_the_order_from_the_shop(handlers: SyncHandlers, sandbox_url: str) -> None:
    handlers.push_shop_order("mage", "2")

    pushed = picqer_orders(sandbox_url)["000000002"]
    assert pushed["status"] == "processing"
    assert sorted(p["productcode"] for p in pushed["products"]) == ["MH01-S-Gray", "WS12-M-Orange"]


# -- Picqer back to the shop ---------------------------------------------------------------------


def ship(sandbox_url: str, idorder: int, trackingcode: str) -> None:
    body = {"trackingcode": trackingcode, "provider": "PostNL"}
    httpx.post(f"{sandbox_url}/_sandbox/picqer/orders/{idorder}/ship", json=body).raise_for_status()


def deliveries(sandbox_url: str, *topics: str) -> list[dict[str, Any]]:
    """The Picqer hook deliveries, once one of each of ``topics`` was sent (they go after the answer)."""
    deadline = time.monotonic() + 5
    while True:
        sent = list(httpx.get(f"{sandbox_url}/_sandbox/picqer/webhooks").json())
        if set(topics) <= {item["topic"] for item in sent} or time.monotonic() > deadline:
            return sent
        time.sleep(0.05)


def test_picqer_events_then_report_fulfilment_once_with_tracking(
    handlers: SyncHandlers, engine: Engine, sandbox_url: str, picqer: PicqerClient
) -> None:
    raw = shopify_order(sandbox_url, "#1001")
    handlers.push_shop_order("shop-nl", str(raw["id"]))
    sync_picqer_hooks(picqer, engine, address=f"{sandbox_url}/nowhere", secret=WEBHOOK_SECRET)
    row = mirror_order(engine, "shop-nl", str(raw["id"]))
    assert row.idorder is not None
    ship(sandbox_url, row.idorder, "3STEST0001")

    sent = deliveries(sandbox_url, "orders.completed", "picklists.shipments.created")
    assert {item["topic"] for item in sent} >= {"orders.completed", "picklists.shipments.created"}
    to_report = []
    for index, item in enumerate(sent):
        stored = store_event(
            engine,
            source=PICQER_INBOX_SOURCE,
            event_key=f"e{index}",
            topic=item["topic"],
            payload=item["body"],
        )
        outcomes = handlers.process_picqer_event(stored.inbox_id)
        to_report += [outcome.order_id for outcome in outcomes if outcome.newly_completed]

    assert to_report == [row.id]
    assert row.id is not None
    handlers.report_fulfilment(row.id)
    handlers.report_fulfilment(row.id)  # a duplicate message: the shop must not get a second one

    made = httpx.get(f"{sandbox_url}{SHOPIFY_CONTROL}/fulfillments").json()["fulfillments"]
    assert [(item["order_id"], item["tracking_number"]) for item in made] == [(raw["id"], "3STEST0001")]
    assert mirror_order(engine, "shop-nl", str(raw["id"])).fulfilment_reported_at is not None


def test_reconcile_moves_the_mirror_and_asks_for_the_fulfilment(
    handlers: SyncHandlers, engine: Engine, sandbox_url: str
) -> None:
    handlers.push_shop_order("woo", "1002")
    row = mirror_order(engine, "woo", "1002")
    assert row.idorder is not None
    # the scheduled run before: sets the cursor from the open orders
    assert handlers.reconcile(None).newly_completed == []
    ship(sandbox_url, row.idorder, "3STEST0002")  # no hooks: only the reconcile can notice

    repaired = handlers.reconcile(None)

    assert mirror_order(engine, "woo", "1002").picqer_status == "completed"
    assert repaired.newly_completed == [row.id]


def test_a_fulfilment_whose_shipment_hook_was_lost_still_carries_the_tracking_code(
    handlers: SyncHandlers, engine: Engine, sandbox_url: str
) -> None:
    # found by the chaos test: with picklists.shipments.created lost, the shop was told "fulfilled"
    # without a tracking code, and nothing ever told it the code
    raw = shopify_order(sandbox_url, "#1001")
    handlers.push_shop_order("shop-nl", str(raw["id"]))
    row = mirror_order(engine, "shop-nl", str(raw["id"]))
    assert row.idorder is not None
    assert row.id is not None
    handlers.reconcile(None)
    ship(sandbox_url, row.idorder, "3STEST0003")  # no hooks reach us: the shipment event is lost
    # notices the completion, knows no shipment
    assert handlers.reconcile(None).newly_completed == [row.id]

    handlers.report_fulfilment(row.id)

    made = httpx.get(f"{sandbox_url}{SHOPIFY_CONTROL}/fulfillments").json()["fulfillments"]
    assert [(item["order_id"], item["tracking_number"]) for item in made] == [(raw["id"], "3STEST0003")]
    with session_scope(engine) as session:
        assert [s.trackingcode for s in orders.list_shipments(session, order_id=row.id)] == ["3STEST0003"]


def test_two_fulfilment_reports_of_one_order_at_once_tell_the_shop_once(
    handlers: SyncHandlers, engine: Engine, sandbox_url: str
) -> None:
    # found by the chaos test: the hook's delayed report and the fulfilment sweep's ran together,
    # both told Magento, and the second (refused: "does not allow a shipment") failed the order
    handlers.push_shop_order("mage", "2")
    row = mirror_order(engine, "mage", "2")
    assert row.idorder is not None
    assert row.id is not None
    handlers.reconcile(None)
    ship(sandbox_url, row.idorder, "3STEST0004")
    handlers.reconcile(None)
    magento = get_platform("magento")
    both_in_the_shop = threading.Barrier(2)

    def slow_report(*args: Any, **kwargs: Any) -> None:
        # the two reports meet here when nothing keeps them apart; serialised, the first one waits
        # a second in vain and goes on alone
        with contextlib.suppress(threading.BrokenBarrierError):
            both_in_the_shop.wait(timeout=1.0)
        magento.report_fulfilment(*args, **kwargs)

    handlers.ctx.platforms = lambda name: dataclasses.replace(
        get_platform(name), report_fulfilment=slow_report
    )
    errors: list[BaseException] = []

    def report() -> None:
        try:
            handlers.report_fulfilment(row.id)  # type: ignore[arg-type]
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=report) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    shipments = httpx.get(f"{sandbox_url}/_sandbox/magento/shops/demo-shop/shipments").json()
    assert [
        (str(item["order_id"]), [track["track_number"] for track in item["tracks"]]) for item in shipments
    ] == [("2", ["3STEST0004"])]


# -- Picqer hook health ----------------------------------------------------------------------------


def hooks_at(picqer: PicqerClient, address: str) -> list[Any]:
    return [hook for hook in picqer.iter_hooks() if hook.address == address]


def deactivate(sandbox_url: str, idhook: int) -> None:
    httpx.post(f"{sandbox_url}/_sandbox/picqer/hooks/{idhook}/deactivate").raise_for_status()


def test_sync_picqer_hooks_creates_reactivates_replaces_and_is_idempotent(
    engine: Engine, sandbox_url: str, picqer: PicqerClient
) -> None:
    address = "https://sync.example.com/webhooks/picqer"
    # a hook of ours without a secret: Picqer would send unsigned events, which we reject
    unsigned = picqer.create_hook(name="old", event="orders.completed", address=address, secret="")

    first = {
        result.event: result.action
        for result in sync_picqer_hooks(picqer, engine, address=address, secret="s")
    }

    assert first == {event: "created" for event in PICQER_HOOK_EVENTS} | {"orders.completed": "replaced"}
    active = [hook for hook in hooks_at(picqer, address) if hook.active]
    assert sorted(hook.event for hook in active) == sorted(PICQER_HOOK_EVENTS)
    assert all(hook.secret for hook in active)
    assert unsigned.idhook not in {hook.idhook for hook in active}

    paused = next(hook for hook in active if hook.event == "orders.paused")
    deactivate(sandbox_url, paused.idhook)
    second = {
        result.event: result.action
        for result in sync_picqer_hooks(picqer, engine, address=address, secret="s")
    }
    assert second == {event: "ok" for event in PICQER_HOOK_EVENTS} | {"orders.paused": "reactivated"}

    third = sync_picqer_hooks(picqer, engine, address=address, secret="s")
    assert {result.action for result in third} == {"ok"}
    assert len(hooks_at(picqer, address)) == len(PICQER_HOOK_EVENTS) + 1  # the replaced one stays inactive


def test_check_picqer_hooks_reactivates_but_never_creates(
    engine: Engine, sandbox_url: str, picqer: PicqerClient
) -> None:
    address = "https://sync.example.com/webhooks/picqer"
    missing = check_picqer_hooks(picqer, engine, address=address)
    assert {result.action for result in missing} == {"missing"}
    assert hooks_at(picqer, address) == []

    sync_picqer_hooks(picqer, engine, address=address, secret="s")
    completed = next(hook for hook in hooks_at(picqer, address) if hook.event == "orders.completed")
    deactivate(sandbox_url, completed.idhook)

    checked = {result.event: result.action for result in check_picqer_hooks(picqer, engine, address=address)}

    assert checked == {event: "ok" for event in PICQER_HOOK_EVENTS} | {"orders.completed": "reactivated"}
    assert all(hook.active for hook in hooks_at(picqer, address))


def test_a_fulfilment_with_one_of_two_shipment_hooks_lost_carries_both_shipments(
    handlers: SyncHandlers, engine: Engine, sandbox_url: str, picqer: PicqerClient
) -> None:
    # 5 of a product with 3 in one warehouse and 2 in the other: two picklists, two shipments
    body = {
        "template": "tshirt",
        "financial_status": "paid",
        "order": {"line_items": [{"sku": "TEE-BASIC-WHITE-M", "quantity": 5, "price": "10.00"}]},
    }
    created = httpx.post(f"{sandbox_url}{SHOPIFY_CONTROL}/orders", json=body).json()["order"]
    handlers.push_shop_order("shop-nl", str(created["id"]))
    row = mirror_order(engine, "shop-nl", str(created["id"]))
    assert row.idorder is not None
    assert row.id is not None
    handlers.reconcile(None)
    httpx.post(f"{sandbox_url}/_sandbox/picqer/orders/{row.idorder}/ship", json={}).raise_for_status()
    first, second = picqer.get_order(row.idorder).picklists
    [arrived] = picqer.list_picklist_shipments(first.idpicklist)  # only this shipment's hook reached us
    with session_scope(engine) as session:
        orders.upsert_shipment(
            session,
            order_id=row.id,
            idshipment=arrived.idshipment,
            idpicklist=arrived.idpicklist,
            trackingcode=arrived.trackingcode,
            trackingurl=None,
            carrier=None,
            cancelled=False,
        )
    handlers.reconcile(None)  # notices the completion

    handlers.report_fulfilment(row.id)

    [lost] = picqer.list_picklist_shipments(second.idpicklist)
    with session_scope(engine) as session:
        codes = sorted(s.trackingcode or "" for s in orders.list_shipments(session, order_id=row.id))
    assert codes == sorted([arrived.trackingcode or "", lost.trackingcode or ""])
