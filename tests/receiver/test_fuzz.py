"""Whatever a sender posts, correctly signed or not, the receiver answers 2xx or 4xx: never a 500."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from adapters.picqer.webhooks import sign as picqer_sign
from adapters.shopify.webhooks import sign as shopify_sign
from adapters.woocommerce.webhooks import sign as woo_sign
from tests.queue.fakes import SHOP_SECRET, WEBHOOK_SECRET, make_settings
from worker.db.migrate import upgrade_database
from worker.db.session import make_engine
from worker.receiver.app import create_receiver_app

ANSWERS = {200, 202, 400, 401, 404, 413}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# bodies: raw bytes, arbitrary JSON, and envelopes that look almost right
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries(
        {"idhook": json_values, "event": json_values, "event_triggered_at": json_values, "data": json_values}
    ).map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries({"id": json_values, "line_items": json_values, "updated_at": json_values}).map(
        lambda value: json.dumps(value).encode()
    ),
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'mirror.db'}"
    upgrade_database(database_url)
    app = create_receiver_app(
        make_settings(max_webhook_bytes=16384),
        engine=make_engine(database_url),
        enqueue=lambda source, inbox_id: None,
    )
    return TestClient(app, raise_server_exceptions=False)


def _post(client: TestClient, path: str, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(path, content=body, headers={"Content-Type": "application/json", **headers})


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=bodies, signed=st.booleans())
def test_picqer_endpoint(client: TestClient, body: bytes, signed: bool) -> None:
    headers = {"X-Picqer-Signature": picqer_sign(body, WEBHOOK_SECRET) if signed else "bm9wZQ=="}
    assert _post(client, "/webhooks/picqer", body, headers).status_code in ANSWERS


@FUZZ
@given(
    body=bodies, topic=st.sampled_from(["orders/create", "orders/updated", "orders/delete", "", "x" * 300])
)
def test_shopify_endpoint(client: TestClient, body: bytes, topic: str) -> None:
    headers = {
        "X-Shopify-Hmac-Sha256": shopify_sign(body, SHOP_SECRET),
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": "fuzz",
    }
    assert _post(client, "/webhooks/sources/shop-nl", body, headers).status_code in ANSWERS


@FUZZ
@given(body=bodies, topic=st.sampled_from(["order.created", "order.updated", "order.deleted", "nonsense"]))
def test_woocommerce_endpoint(client: TestClient, body: bytes, topic: str) -> None:
    headers = {
        "X-WC-Webhook-Signature": woo_sign(body, SHOP_SECRET),
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Delivery-ID": "fuzz",
    }
    assert _post(client, "/webhooks/sources/woo", body, headers).status_code in ANSWERS


def test_the_real_sample_bodies_are_accepted(client: TestClient) -> None:
    samples = Path(__file__).parents[1] / "samples"
    shopify = json.dumps(json.loads((samples / "shopify-order-1.json").read_text())["order"]).encode()
    headers = {
        "X-Shopify-Hmac-Sha256": shopify_sign(shopify, SHOP_SECRET),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": "sample-1",
    }
    assert _post(client, "/webhooks/sources/shop-nl", shopify, headers).status_code == 202
    for index, order in enumerate(json.loads((samples / "woocommerce-orders-list-1.json").read_text())):
        body = json.dumps(order).encode()
        headers = {
            "X-WC-Webhook-Signature": woo_sign(body, SHOP_SECRET),
            "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Delivery-ID": f"sample-{index}",
        }
        assert _post(client, "/webhooks/sources/woo", body, headers).status_code == 202


# signed bodies that can never be stored: deep nesting, other encodings, NUL characters
nul_text = st.text(max_size=10).map(lambda text: text + "\x00")
malformed_bodies = st.one_of(
    st.tuples(st.integers(65, 3000), json_values).map(
        lambda pair: b"[" * pair[0] + json.dumps(pair[1]).encode() + b"]" * pair[0]
    ),
    st.tuples(st.sampled_from(["utf-16", "utf-16-be", "utf-32", "utf-8-sig"]), json_values).map(
        lambda pair: json.dumps({"id": 1, "data": pair[1]}).encode(pair[0])
    ),
    st.fixed_dictionaries({"id": st.integers(1, 10**12), "updated_at": nul_text, "data": json_values}).map(
        lambda value: json.dumps(value).encode()
    ),
    st.fixed_dictionaries(
        {
            "idhook": st.integers(1, 10**6),
            "event": nul_text,
            "event_triggered_at": st.just("x"),
            "data": st.just({}),
        }
    ).map(lambda value: json.dumps(value).encode()),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=malformed_bodies, endpoint=st.sampled_from(["picqer", "shopify", "woocommerce"]))
def test_signed_malformed_bodies_get_4xx_on_each_database(engine: Engine, body: bytes, endpoint: str) -> None:
    client = TestClient(
        create_receiver_app(
            make_settings(max_webhook_bytes=16384), engine=engine, enqueue=lambda source, inbox_id: None
        ),
        raise_server_exceptions=False,
    )
    if endpoint == "picqer":
        path, headers = "/webhooks/picqer", {"X-Picqer-Signature": picqer_sign(body, WEBHOOK_SECRET)}
    elif endpoint == "shopify":
        path = "/webhooks/sources/shop-nl"
        headers = {
            "X-Shopify-Hmac-Sha256": shopify_sign(body, SHOP_SECRET),
            "X-Shopify-Topic": "orders/updated",
        }
    else:
        path = "/webhooks/sources/woo"
        headers = {
            "X-WC-Webhook-Signature": woo_sign(body, SHOP_SECRET),
            "X-WC-Webhook-Topic": "order.updated",
        }
    assert _post(client, path, body, headers).status_code in (400, 413)
