"""A database that accepts connections but never answers gets bounded answers: a webhook 503 within
3 s (Shopify counts a failure after 5 s), /readyz 503 within 2 s; and the receiver recovers by
itself when the database answers again, without a restart."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from adapters.picqer.webhooks import sign as picqer_sign
from adapters.shopify.webhooks import sign as shopify_sign
from tests.queue.fakes import SHOP_SECRET, WEBHOOK_SECRET, make_settings
from tests.support.tcpproxy import TcpProxy
from worker import metrics
from worker.db.migrate import upgrade_database
from worker.db.session import make_engine
from worker.receiver.app import create_receiver_app, receiver_timeouts

# the behaviour asked for, plus a margin for a loaded 2-core machine
WEBHOOK_BOUND = 3.0 + 0.75
READYZ_BOUND = 2.0 + 0.75

EVENT = {
    "idhook": 30088,
    "name": "picqer-sync orders.status_changed",
    "event": "orders.status_changed",
    "event_triggered_at": "2026-01-13 09:46:30",
    "data": {"idorder": 11, "reference": "#1001", "status": "processing"},
}


def _picqer(client: TestClient, idhook: int = 30088) -> Any:
    body = json.dumps({**EVENT, "idhook": idhook}).encode()
    return client.post(
        "/webhooks/picqer", content=body, headers={"X-Picqer-Signature": picqer_sign(body, WEBHOOK_SECRET)}
    )


def _shopify(client: TestClient, order_id: int = 1) -> Any:
    body = json.dumps({"id": order_id, "updated_at": "2026-01-13T10:00:00+01:00"}).encode()
    headers = {
        "X-Shopify-Hmac-Sha256": shopify_sign(body, SHOP_SECRET),
        "X-Shopify-Topic": "orders/updated",
        "X-Shopify-Webhook-Id": f"sick-{order_id}",
    }
    return client.post("/webhooks/sources/shop-nl", content=body, headers=headers)


def _timed(call: Any, *args: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = call(*args)
    return response, time.monotonic() - started


def _client(engine: Engine) -> TestClient:
    app = create_receiver_app(
        make_settings(), engine=engine, enqueue=lambda source, inbox_id: None, queue_ping=lambda: None
    )
    return TestClient(app, raise_server_exceptions=False)


def _receiver_engine(url: str) -> Engine:
    return make_engine(url, timeouts=receiver_timeouts(make_settings()))


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    server = TcpProxy(upstream=("127.0.0.1", 5432))
    yield server
    server.close()


def test_a_silent_postgresql_gets_bounded_503s(proxy: TcpProxy) -> None:
    engine = _receiver_engine(f"postgresql://picqer:secret@127.0.0.1:{proxy.port}/picqer_sync")
    client = _client(engine)
    try:
        for call in (_picqer, _shopify):
            response, elapsed = _timed(call, client)
            assert response.status_code == 503, response.text
            assert elapsed < WEBHOOK_BOUND, elapsed
        response, elapsed = _timed(client.get, "/readyz")
        assert response.status_code == 503
        assert response.json()["database"].startswith("unavailable")
        assert response.json()["queue"] == "ok"
        assert elapsed < READYZ_BOUND, elapsed
        assert client.get("/healthz").status_code == 200  # the process itself is fine
    finally:
        engine.dispose()


def test_the_receiver_recovers_when_postgresql_answers_again(proxy: TcpProxy, postgres_url: str) -> None:
    upgrade_database(postgres_url)
    engine = _receiver_engine(proxy.url(postgres_url))
    client = _client(engine)
    try:
        assert _picqer(client).status_code == 503
        assert client.get("/readyz").status_code == 503
        proxy.forward()  # the database is back
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the receiver did not recover"
            time.sleep(0.2)
        assert _picqer(client).status_code == 202
        assert _shopify(client).status_code == 202
    finally:
        engine.dispose()


def test_a_locked_sqlite_gets_a_bounded_503_and_recovers(sqlite_url: str) -> None:
    upgrade_database(sqlite_url)
    engine = _receiver_engine(sqlite_url)
    client = _client(engine)
    blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # another writer that holds the lock and never lets go
        response, elapsed = _timed(_picqer, client)
        assert response.status_code == 503, response.text
        assert elapsed < WEBHOOK_BOUND, elapsed
        blocker.execute("ROLLBACK")
        assert _picqer(client, 30089).status_code == 202
        assert client.get("/readyz").status_code == 200
    finally:
        blocker.close()
        engine.dispose()


def test_status_and_metrics_answer_within_the_deadline(proxy: TcpProxy) -> None:
    engine = _receiver_engine(f"postgresql://picqer:secret@127.0.0.1:{proxy.port}/picqer_sync")
    stuck = threading.Event()  # a queue (Redis) that never answers the depth read

    def depths() -> dict[str, int]:
        stuck.wait(30)
        return {}

    app = create_receiver_app(
        make_settings(), engine=engine, enqueue=lambda source, inbox_id: None, queue_depths=depths
    )
    client = TestClient(app, raise_server_exceptions=False)
    try:
        response, elapsed = _timed(client.get, "/status")
        assert response.status_code == 503
        assert "Database not answering" in response.text
        assert response.headers["Retry-After"].isdigit()
        assert elapsed < WEBHOOK_BOUND, elapsed
        response, elapsed = _timed(client.get, "/metrics")
        assert response.status_code == 503
        assert elapsed < WEBHOOK_BOUND, elapsed
    finally:
        stuck.set()
        metrics.set_queue_depth_source(None)
        engine.dispose()
