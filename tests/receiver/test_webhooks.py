"""Every answer of the receiver's webhook endpoints, through FastAPI's TestClient."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from adapters.picqer.webhooks import sign as picqer_sign
from adapters.shopify.webhooks import sign as shopify_sign
from tests.queue.fakes import SHOP_SECRET, WEBHOOK_SECRET, make_settings
from worker.db.models import InboxEvent
from worker.db.session import make_engine
from worker.receiver.app import create_receiver_app

EVENT = {
    "idhook": 30088,
    "name": "picqer-sync orders.status_changed",
    "event": "orders.status_changed",
    "event_triggered_at": "2026-01-13 09:46:30",
    "data": {"idorder": 11, "reference": "#1001", "status": "processing", "deliveryaddress": "Street 1"},
}


class Queue:
    """A fake enqueue that can be switched off, like a Redis that went away."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []
        self.down = False

    def __call__(self, source: str, inbox_id: int) -> None:
        if self.down:
            raise ConnectionError("queue down")
        self.sent.append((source, inbox_id))


@pytest.fixture
def queue() -> Queue:
    return Queue()


@pytest.fixture
def client_for(queue: Queue) -> Callable[..., TestClient]:
    def build(engine: Engine, **overrides: Any) -> TestClient:
        settings = make_settings(max_webhook_bytes=16384, **overrides)
        app = create_receiver_app(
            settings, engine=engine, enqueue=queue, queue_depths=lambda: {"picqer-sync": 3}
        )
        return TestClient(app, raise_server_exceptions=False)

    return build


@pytest.fixture
def client(engine: Engine, client_for: Callable[..., TestClient]) -> TestClient:
    return client_for(engine)


def picqer_post(client: TestClient, body: bytes, signature: str | None = "sign") -> Any:
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        signature = picqer_sign(body, WEBHOOK_SECRET)
    if signature is not None:
        headers["X-Picqer-Signature"] = signature
    return client.post("/webhooks/picqer", content=body, headers=headers)


def inbox_rows(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(sa.select(InboxEvent.source, InboxEvent.topic, InboxEvent.payload)).all()
        )


def test_a_signed_picqer_event_is_stored_then_enqueued(
    client: TestClient, engine: Engine, queue: Queue
) -> None:
    body = json.dumps(EVENT).encode()
    response = picqer_post(client, body)
    assert response.status_code == 202
    [(source, topic, payload)] = inbox_rows(engine)
    assert (source, topic, payload) == ("picqer", "orders.status_changed", body.decode())
    assert len(queue.sent) == 1
    assert queue.sent[0][0] == "picqer"


def test_a_duplicate_is_answered_202_and_stored_once(
    client: TestClient, engine: Engine, queue: Queue
) -> None:
    body = json.dumps(EVENT).encode()
    assert picqer_post(client, body).status_code == 202
    second = picqer_post(client, body)
    assert second.status_code == 202
    assert second.json() == {"status": "duplicate"}
    assert len(inbox_rows(engine)) == 1
    assert len(queue.sent) == 1


@pytest.mark.parametrize("signature", [None, "", "c2lnbmF0dXJl", "not base64 at all!"])
def test_a_bad_or_missing_signature_is_401_and_logged(
    client: TestClient, engine: Engine, signature: Any
) -> None:
    body = json.dumps(EVENT).encode()
    with capture_logs() as logs:
        response = picqer_post(client, body, signature=signature)
    assert response.status_code == 401
    assert inbox_rows(engine) == []
    [line] = [entry for entry in logs if entry["event"] == "webhook_rejected"]
    assert line["target"] == "picqer"
    assert line["status"] == 401
    assert WEBHOOK_SECRET not in repr(logs)
    assert "Street 1" not in repr(logs)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"idhook": 1}',
        b"\xff\xfe\x00garbage",
        json.dumps({**EVENT, "event_triggered_at": "yesterday"}).encode(),
    ],
)
def test_a_malformed_signed_body_is_400_never_500(client: TestClient, engine: Engine, body: bytes) -> None:
    response = picqer_post(client, body)
    assert response.status_code == 400
    assert inbox_rows(engine) == []


def test_a_body_over_the_limit_is_413(client: TestClient, engine: Engine) -> None:
    big = json.dumps({**EVENT, "data": {"idorder": 1, "pad": "x" * 20000}}).encode()
    assert picqer_post(client, big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the streamed size must be checked
        for _ in range(20):
            yield b"x" * 1000

    response = client.post("/webhooks/picqer", content=chunks(), headers={"X-Picqer-Signature": "x"})
    assert response.status_code == 413
    assert inbox_rows(engine) == []


def test_a_lying_content_length_is_caught_while_streaming(client: TestClient) -> None:
    response = client.post(
        "/webhooks/picqer", content=b"y" * 20000, headers={"Content-Length": "10", "X-Picqer-Signature": "x"}
    )
    assert response.status_code in (400, 413)


def test_unknown_and_webhookless_sources_are_404(client: TestClient) -> None:
    assert client.post("/webhooks/sources/nope", content=b"{}").status_code == 404
    response = client.post("/webhooks/sources/mage", content=b"{}")
    assert response.status_code == 404
    assert "polled" in response.json()["error"]


def shopify_post(client: TestClient, order: dict[str, Any], secret: str = SHOP_SECRET, **headers: str) -> Any:
    body = json.dumps(order).encode()
    return client.post(
        "/webhooks/sources/shop-nl",
        content=body,
        headers={
            "X-Shopify-Hmac-Sha256": shopify_sign(body, secret),
            "X-Shopify-Topic": "orders/updated",
            "X-Shopify-Webhook-Id": headers.get("webhook_id", "wh-1"),
            "Content-Type": "application/json",
        },
    )


def test_a_shop_webhook_is_verified_by_its_platform(client: TestClient, engine: Engine, queue: Queue) -> None:
    order = json.loads((Path(__file__).parents[1] / "samples" / "shopify-order-1.json").read_text())
    order = order.get("order", order)
    assert shopify_post(client, order, secret="wrong").status_code == 401
    assert shopify_post(client, order).status_code == 202
    assert shopify_post(client, order).status_code == 202  # the same delivery again
    [(source, topic, payload)] = inbox_rows(engine)
    assert (source, topic) == ("shop-nl", "orders/updated")
    assert json.loads(payload)["shop_order_id"] == str(order["id"])
    assert queue.sent == [("shop-nl", queue.sent[0][1])]


def test_a_woocommerce_ping_is_200(client: TestClient, engine: Engine) -> None:
    response = client.post(
        "/webhooks/sources/woo",
        content=b"webhook_id=17",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert inbox_rows(engine) == []


def test_database_down_is_503(client_for: Callable[..., TestClient], tmp_path: Path, queue: Queue) -> None:
    never_migrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    response = picqer_post(client_for(never_migrated), json.dumps(EVENT).encode())
    assert response.status_code == 503
    assert queue.sent == []


def test_queue_down_is_503_and_the_stored_event_is_not_lost(
    client: TestClient, engine: Engine, queue: Queue
) -> None:
    queue.down = True
    body = json.dumps(EVENT).encode()
    assert picqer_post(client, body).status_code == 503
    assert len(inbox_rows(engine)) == 1  # stored: the sweeper will enqueue it
    queue.down = False
    assert picqer_post(client, body).status_code == 202  # the sender's retry
