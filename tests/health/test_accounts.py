"""Refused keys are account problems, not order failures; webhook rejections; paused and conflicts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from adapters.errors import ApiRejected, AuthenticationFailed
from adapters.picqer.client import PicqerClient
from tests.queue.fakes import make_settings
from worker.app import build_app
from worker.config import Settings, SourceSettings
from worker.db import cursors, orders
from worker.db.migrate import upgrade_database
from worker.db.models import SyncState
from worker.db.session import make_engine, session_scope
from worker.receiver.app import create_receiver_app
from worker.receiver.status import build_status_report
from worker.sync.failures import list_failures, resolve_order
from worker.sync.handlers import SyncHandlers
from worker.sync.health import (
    AccountHealth,
    AccountUnavailable,
    PicqerAccountGuard,
    check_accounts,
    list_broken,
)

WAREHOUSES = [{"idwarehouse": 1, "name": "Main"}]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def picqer(engine: Engine, answers: dict[str, tuple[int, Any]]) -> tuple[PicqerClient, AccountHealth]:
    health = AccountHealth(engine)

    def handler(request: httpx.Request) -> httpx.Response:
        status, body = answers["now"]
        return httpx.Response(status, json=body)

    client = PicqerClient(
        "http://picqer.test/api/v1/",
        "the-key",
        transport=PicqerAccountGuard(health, httpx.MockTransport(handler)),
    )
    return client, health


def test_a_refused_key_marks_the_account_and_the_next_success_clears_it(engine: Engine) -> None:
    answers: dict[str, tuple[int, Any]] = {"now": (401, {"error": True, "error_message": "the-key bad"})}
    client, _ = picqer(engine, answers)
    with pytest.raises(AccountUnavailable) as raised:
        client.get_order(1)
    assert "401" in raised.value.reason
    assert "the-key" not in raised.value.reason
    [broken] = list_broken(engine)
    assert broken.target == "picqer"
    assert "401" in broken.reason
    answers["now"] = (200, WAREHOUSES)
    list(client.iter_warehouses())
    assert list_broken(engine) == []


def test_an_account_url_that_is_not_picqer_is_broken_but_a_missing_order_is_not(engine: Engine) -> None:
    answers: dict[str, tuple[int, Any]] = {"now": (404, {"detail": "Not Found"})}
    client, _ = picqer(engine, answers)
    with pytest.raises(AccountUnavailable):
        client.get_order(1)
    assert [b.target for b in list_broken(engine)] == ["picqer"]
    answers["now"] = (404, {"error": True, "error_code": 4, "error_message": "Order not found"})
    with pytest.raises(ApiRejected) as raised:
        client.get_order(1)
    assert not isinstance(raised.value, AccountUnavailable)


def settings_for(engine: Engine) -> Settings:
    return Settings(
        database_url=str(engine.url.render_as_string(hide_password=False)),
        redis_url="",
        sources=[SourceSettings(name="shop", platform="shopify", url="http://shop.test")],
    )


class RefusingShop:
    primary_key = "id"

    def iter_orders(self, since: Any) -> Iterator[dict[str, Any]]:
        raise AuthenticationFailed("shopify answered 401", service="shopify", status=401)
        yield {}

    def get_order(self, shop_order_id: str) -> dict[str, Any]:
        raise AuthenticationFailed("shopify answered 401", service="shopify", status=401)

    def close(self) -> None:
        pass


def test_the_poll_of_a_refusing_shop_keeps_its_cursor_and_fails_nothing(engine: Engine) -> None:
    client, health = picqer(engine, {"now": (200, WAREHOUSES)})
    with build_app(settings_for(engine), engine=engine, picqer_client=client) as app:
        app.context.open_source = lambda source: RefusingShop()  # type: ignore[method-assign,assignment,return-value]
        handlers = SyncHandlers(app.context, health=health)
        with pytest.raises(AccountUnavailable):
            handlers.poll_source("shop", defer_push=lambda *a: None, on_outcome=lambda o: None)
        with pytest.raises(AccountUnavailable):
            handlers.push_shop_order("shop", "42")
        with session_scope(engine) as session:
            cursor = cursors.get_cursor(session, source="shop")
            assert cursor is None or cursor.position is None  # the poll did not move it
            assert orders.get_order(session, source="shop", shop_order_id="42") is None
        assert [(b.target, "401" in b.reason) for b in list_broken(engine)] == [("shop", True)]


def test_orders_a_refused_key_failed_are_retried_once_the_account_works(engine: Engine) -> None:
    client, health = picqer(engine, {"now": (200, WAREHOUSES)})
    with build_app(settings_for(engine), engine=engine, picqer_client=client) as app:
        with session_scope(engine) as session:
            old = orders.ensure_order(
                session, source="shop", shop_order_id="7", shop_order_number="#1007", reference="#1007"
            )
            other = orders.ensure_order(
                session, source="shop", shop_order_id="8", shop_order_number="#1008", reference="#1008"
            )
            assert old.id is not None
            assert other.id is not None
            orders.update_order(
                session,
                order_id=old.id,
                sync_state=SyncState.FAILED,
                last_error="Picqer answered 401: Unauthorized",
            )
            orders.update_order(
                session, order_id=other.id, sync_state=SyncState.FAILED, last_error="product X unknown"
            )
        with session_scope(engine) as session:
            from worker.db import health as repo

            repo.mark_broken(session, target="picqer", reason="the credentials were refused (401)")
        pushed: list[tuple[str, str]] = []
        checked = check_accounts(app.context, health, enqueue_push=lambda *args: pushed.append(args))
        assert checked.recovered == ["picqer"]
        assert checked.retried == 1
        assert pushed == [("shop", "7")]
        with session_scope(engine) as session:
            assert orders.get_order(session, source="shop", shop_order_id="7").sync_state == "pending"  # type: ignore[union-attr]
            assert orders.get_order(session, source="shop", shop_order_id="8").sync_state == "failed"  # type: ignore[union-attr]
        assert list_broken(engine) == []


def test_rejected_webhooks_are_counted_per_source_for_status(engine: Engine) -> None:
    settings = make_settings()
    client = TestClient(create_receiver_app(settings, engine=engine, enqueue=lambda *a: None))
    for _ in range(3):
        answer = client.post("/webhooks/picqer", content=b"{}", headers={"X-Picqer-Signature": "bad"})
        assert answer.status_code == 401
    assert client.post("/webhooks/sources/nope", content=b"{}").status_code == 404
    report = build_status_report(settings, engine)
    problems = {(p.target, p.detail) for p in report.problems}
    assert ("picqer", "rejecting: X-Picqer-Signature does not match, 3 in the last hour") in problems
    assert ("unknown-source", "rejecting: unknown or disabled source, 1 in the last hour") in problems


def test_readyz_names_a_broken_account(engine: Engine) -> None:
    client = TestClient(create_receiver_app(make_settings(), engine=engine, enqueue=lambda *a: None))
    assert client.get("/readyz").status_code == 200
    with session_scope(engine) as session:
        from worker.db import health as repo

        repo.mark_broken(session, target="shop-nl", reason="the credentials were refused (401)")
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert "the credentials were refused (401)" in answer.json()["account:shop-nl"]
    # a receiver can still take webhooks (stored until the key is fixed): ready for a load balancer
    # that routes by the receiver's scope, and the account is still named
    receiving = client.get("/readyz", params={"scope": "receiver"})
    assert receiving.status_code == 200
    assert receiving.json()["status"] == "ready"
    assert "the credentials were refused (401)" in receiving.json()["account:shop-nl"]
    assert client.get("/readyz", params={"scope": "everything"}).status_code == 422


def test_readyz_for_the_receiver_is_still_503_without_its_database_and_queue(engine: Engine) -> None:
    def queue_down() -> None:
        raise ConnectionError("the queue is away")

    client = TestClient(
        create_receiver_app(make_settings(), engine=engine, enqueue=lambda *a: None, queue_ping=queue_down)
    )
    answer = client.get("/readyz", params={"scope": "receiver"})
    assert answer.status_code == 503
    assert answer.json()["queue"].startswith("unavailable")


def test_paused_orders_and_conflicts_need_a_person_until_resolved(engine: Engine) -> None:
    client, _ = picqer(engine, {"now": (200, WAREHOUSES)})
    with build_app(settings_for(engine), engine=engine, picqer_client=client) as app:
        with session_scope(engine) as session:
            for number, state in (
                ("1", SyncState.PAUSED),
                ("2", SyncState.CONFLICT),
                ("3", SyncState.SYNCED),
            ):
                row = orders.ensure_order(
                    session,
                    source="shop",
                    shop_order_id=number,
                    shop_order_number=f"#{number}",
                    reference=f"#{number}",
                )
                assert row.id is not None
                orders.update_order(
                    session, order_id=row.id, sync_state=state, idorder=int(number), note="why"
                )
        listed = {(f.shop_order_number, f.state) for f in list_failures(engine)}
        assert listed == {("#1", "paused"), ("#2", "conflict")}
        report = build_status_report(app.settings, engine)
        assert {f.state for f in report.needs_person} == {"paused", "conflict"}
        paused = next(f for f in list_failures(engine) if f.state == "paused")
        resolved = resolve_order(app.context, order_id=paused.order_id)
        assert resolved is not None
        assert resolved.sync_state == SyncState.CANCELLED
        assert resolve_order(app.context, order_id=paused.order_id) is None  # not twice
        assert {f.state for f in list_failures(engine)} == {"conflict"}
