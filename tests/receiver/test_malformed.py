"""A body that is correctly signed but malformed gets a 4xx (never a 5xx the sender retries for
ever), with one log line, on every endpoint and on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from adapters.picqer.webhooks import sign as picqer_sign
from adapters.shopify.webhooks import sign as shopify_sign
from adapters.woocommerce.webhooks import sign as woo_sign
from tests.queue.fakes import SHOP_SECRET, WEBHOOK_SECRET, make_settings
from worker.receiver.app import create_receiver_app
from worker.receiver.webhooks import store_and_enqueue

ENVELOPE: dict[str, Any] = {
    "idhook": 30088,
    "name": "picqer-sync orders.status_changed",
    "event": "orders.status_changed",
    "event_triggered_at": "2026-01-13 09:46:30",
    "data": {"idorder": 11, "reference": "#1001", "status": "processing"},
}
SHOPIFY_ORDER: dict[str, Any] = {"id": 820982911946154508, "updated_at": "2026-01-13T10:00:00+01:00"}
WOO_ORDER: dict[str, Any] = {"id": 727, "status": "processing", "date_modified_gmt": "2026-01-13T09:00:00"}


def _with_deep(valid: dict[str, Any], levels: int) -> bytes:
    # spliced as text: json.dumps itself cannot write it
    deep = b"[" * levels + b'"bottom"' + b"]" * levels
    return json.dumps(valid)[:-1].encode() + b', "extra": ' + deep + b"}"


def _nul(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {**body, key: f"{body.get(key, '')}\x00"}


def _malformed(valid: dict[str, Any], text_key: str) -> dict[str, bytes]:
    return {
        "deep": _with_deep(valid, 995),
        "deeper than the stack": _with_deep(valid, 100_000),
        "utf-16 with BOM": json.dumps(valid).encode("utf-16"),
        "utf-8 with BOM": b"\xef\xbb\xbf" + json.dumps(valid).encode(),
        "latin-1": json.dumps({**valid, "note": "café"}, ensure_ascii=False).encode("latin-1"),
        "NUL in a string": json.dumps(_nul(valid, text_key)).encode(),
        "NUL in a key": json.dumps({**valid, "a\x00b": 1}).encode(),
        "lone surrogate": json.dumps(valid)[:-1].encode() + b', "x": "\\udc80"}',
        "NUL byte outside a string": json.dumps(valid)[:-1].encode() + b", \x00}",
        "NUL after the object": json.dumps(valid).encode() + b"\x00",
        "invalid JSON": b"{this is not json",
        "truncated": json.dumps(valid).encode()[:-7],
        "empty": b"",
        "an array": json.dumps([valid]).encode(),
        "a number": b"42",
        "a string": json.dumps(json.dumps(valid)).encode(),
        "null": b"null",
        "two objects": json.dumps(valid).encode() * 2,
        "NaN": json.dumps(valid)[:-1].encode() + b', "total": NaN}',
        "Infinity": json.dumps(valid)[:-1].encode() + b', "total": -Infinity}',
    }


@pytest.fixture
def client(engine: Engine) -> TestClient:
    settings = make_settings(max_webhook_bytes=2 * 1024 * 1024)
    app = create_receiver_app(settings, engine=engine, enqueue=lambda source, inbox_id: None)
    return TestClient(app, raise_server_exceptions=False)


def _posts() -> list[tuple[str, Callable[[bytes], tuple[str, dict[str, str]]], dict[str, Any], str]]:
    def picqer(body: bytes) -> tuple[str, dict[str, str]]:
        return "/webhooks/picqer", {"X-Picqer-Signature": picqer_sign(body, WEBHOOK_SECRET)}

    def shopify(body: bytes) -> tuple[str, dict[str, str]]:
        # no X-Shopify-Webhook-Id: the event key is made of the body's updated_at
        headers = {
            "X-Shopify-Hmac-Sha256": shopify_sign(body, SHOP_SECRET),
            "X-Shopify-Topic": "orders/updated",
        }
        return "/webhooks/sources/shop-nl", headers

    def woo(body: bytes) -> tuple[str, dict[str, str]]:
        headers = {
            "X-WC-Webhook-Signature": woo_sign(body, SHOP_SECRET),
            "X-WC-Webhook-Topic": "order.updated",
        }
        return "/webhooks/sources/woo", headers

    return [
        ("picqer", picqer, ENVELOPE, "name"),
        ("shopify", shopify, SHOPIFY_ORDER, "updated_at"),
        ("woocommerce", woo, WOO_ORDER, "date_modified_gmt"),
    ]


@pytest.mark.parametrize(
    ("endpoint", "route", "valid", "text_key"), _posts(), ids=["picqer", "shopify", "woocommerce"]
)
def test_signed_malformed_bodies_get_400_and_one_log_line(
    client: TestClient,
    endpoint: str,
    route: Callable[[bytes], tuple[str, dict[str, str]]],
    valid: dict[str, Any],
    text_key: str,
) -> None:
    for case, body in _malformed(valid, text_key).items():
        path, headers = route(body)
        with capture_logs() as logs:
            response = client.post(
                path, content=body, headers={"Content-Type": "application/json", **headers}
            )
        assert response.status_code == 400, (endpoint, case, response.status_code, response.text)
        errors = [entry for entry in logs if entry["log_level"] in ("warning", "error")]
        assert [entry["event"] for entry in errors] == ["webhook_rejected"], (endpoint, case, logs)
    # and the same endpoint still accepts a well-formed body
    body = json.dumps(valid).encode()
    path, headers = route(body)
    assert client.post(path, content=body, headers=headers).status_code == 202


def test_a_shopify_nul_in_updated_at_is_a_400_on_every_retry(client: TestClient) -> None:
    body = json.dumps(_nul(SHOPIFY_ORDER, "updated_at")).encode()
    headers = {"X-Shopify-Hmac-Sha256": shopify_sign(body, SHOP_SECRET), "X-Shopify-Topic": "orders/updated"}
    for _ in range(3):
        assert client.post("/webhooks/sources/shop-nl", content=body, headers=headers).status_code == 400


def test_the_inbox_write_turns_a_value_the_database_cannot_hold_into_a_400(engine: Engine) -> None:
    # a key that got past the parsers (NUL): SQLite stores it, PostgreSQL refuses it; never a 503
    answer = store_and_enqueue(
        "shop-nl",
        source="shop-nl",
        event_key="orders/updated:1:2026\x00",
        topic="orders/updated",
        payload="{}",
        engine=engine,
        enqueue=lambda source, inbox_id: None,
    )
    assert answer.status in (202, 400)
    if engine.dialect.name == "postgresql":
        assert answer.status == 400


def test_a_client_that_disconnects_mid_body_leaves_one_log_line(engine: Engine) -> None:
    import anyio

    app = create_receiver_app(make_settings(), engine=engine, enqueue=lambda source, inbox_id: None)
    messages = iter(
        [
            {"type": "http.request", "body": b'{"idhook": 1, ', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/picqer",
        "raw_path": b"/webhooks/picqer",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"500")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    with capture_logs() as logs:
        anyio.run(app, scope, receive, send)  # raises nothing: no "Exception in ASGI application"
    assert [entry["event"] for entry in logs] == ["webhook_client_disconnected"]


def test_the_magento_endpoint_answers_404_to_any_body(client: TestClient) -> None:
    # Magento sends no webhooks: answered before the body is read, whatever it holds
    for case, body in _malformed(SHOPIFY_ORDER, "updated_at").items():
        response = client.post(
            "/webhooks/sources/mage", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 404, (case, response.text)
