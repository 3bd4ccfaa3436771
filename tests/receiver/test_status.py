"""healthz, readyz, metrics and the status page (with its admin token)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from adapters.picqer.webhooks import sign
from tests.queue.fakes import WEBHOOK_SECRET, make_settings
from worker.db import orders
from worker.db.models import SyncState
from worker.db.session import make_engine, session_scope
from worker.receiver.app import create_receiver_app

ADMIN = "admin-token-xyz"


def build(engine: Engine, *, ping_fails: bool = False, admin: str | None = ADMIN) -> TestClient:
    def ping() -> None:
        if ping_fails:
            raise ConnectionError("redis down")

    settings = make_settings(admin_token=SecretStr(admin) if admin else None)
    app = create_receiver_app(
        settings,
        engine=engine,
        enqueue=lambda *_: None,
        queue_ping=ping,
        queue_depths=lambda: {"picqer-sync": 4},
    )
    return TestClient(app)


def add_failed_order(engine: Engine) -> None:
    with session_scope(engine) as session:
        order = orders.ensure_order(
            session, source="shop-nl", shop_order_id="9", shop_order_number="#1009", reference="#1009"
        )
        assert order.id is not None
        orders.update_order(
            session,
            order_id=order.id,
            sync_state=SyncState.FAILED,
            failed_step="mapping",
            last_error="line 2 has no SKU",
            mapped_json={"draft": {"deliveryaddress": "Secret Street 5"}},
        )


def test_healthz_and_readyz(engine: Engine, tmp_path: Path) -> None:
    assert build(engine).get("/healthz").json() == {"status": "ok"}
    ready = build(engine).get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"
    queue_down = build(engine, ping_fails=True).get("/readyz")
    assert queue_down.status_code == 503
    assert queue_down.json()["queue"].startswith("unavailable")
    not_migrated = build(make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")).get("/readyz")
    assert not_migrated.status_code == 503
    assert not_migrated.json()["database"].startswith("unavailable")


def test_status_page_needs_the_admin_token(engine: Engine) -> None:
    add_failed_order(engine)
    client = build(engine)
    assert client.get("/status").status_code == 401
    assert client.get("/status", headers={"Authorization": "Bearer wrong"}).status_code == 401
    page = client.get("/status", headers={"Authorization": f"Bearer {ADMIN}"})
    assert page.status_code == 200
    assert client.get(f"/status?token={ADMIN}").status_code == 200
    text = page.text
    assert "#1009" in text
    assert "line 2 has no SKU" in text
    assert "picqer-sync: 4" in text  # queue depth
    assert "Secret Street" not in text
    assert ADMIN not in text
    assert WEBHOOK_SECRET not in text


def test_status_page_is_open_without_an_admin_token(engine: Engine) -> None:
    assert build(engine, admin=None).get("/status").status_code == 200


def test_metrics_count_webhooks_and_show_queue_depth(engine: Engine) -> None:
    client = build(engine)
    body = json.dumps(
        {
            "idhook": 1,
            "name": "x",
            "event": "orders.completed",
            "event_triggered_at": "2026-01-01 10:00:00",
            "data": {"idorder": 1},
        }
    ).encode()
    client.post("/webhooks/picqer", content=body, headers={"X-Picqer-Signature": sign(body, WEBHOOK_SECRET)})
    client.post("/webhooks/picqer", content=body, headers={"X-Picqer-Signature": "bad"})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'picqer_sync_webhooks_total{outcome="accepted",target="picqer"}' in response.text
    assert 'picqer_sync_webhooks_total{outcome="rejected_401",target="picqer"}' in response.text
    assert 'picqer_sync_queue_depth{queue="picqer-sync"} 4.0' in response.text
