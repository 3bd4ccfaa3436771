"""Database down, Redis up (split mode): a verified webhook is kept in the Redis spool and answered
202; once the database answers, the drain moves it into the inbox under the key a direct store
uses and enqueues it, so a sender's retry is still one event. Without a spool (``run``), nothing
changes: 503 and the sender retries.

Locally on SQLite, PostgreSQL and fakeredis; under CI=true also on a real Redis, and end to end
against a real PostgreSQL behind a TCP proxy that goes down and comes back.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from adapters.picqer.webhooks import sign as picqer_sign
from adapters.shopify.webhooks import sign as shopify_sign
from tests.conftest import TEST_REDIS_NAMESPACE
from tests.queue.fakes import SHOP_SECRET, WEBHOOK_SECRET, make_settings
from tests.resilience.test_sick_database import WEBHOOK_BOUND
from tests.support.liveserver import free_port
from tests.support.tcpproxy import TcpProxy
from worker.db.migrate import upgrade_database
from worker.db.models import InboxEvent
from worker.db.session import make_engine, session_scope
from worker.infra.spool import RedisWebhookSpool
from worker.receiver.app import create_receiver_app, receiver_timeouts
from worker.receiver.webhooks import store_and_enqueue
from worker.sync.inbox import mark_processed
from worker.sync.spool import SpoolDrainer, SpooledEvent, drain_spool, move_to_inbox

EVENT: dict[str, Any] = {
    "idhook": 30088,
    "name": "picqer-sync orders.status_changed",
    "event": "orders.status_changed",
    "event_triggered_at": "2026-01-13 09:46:30",
    "data": {"idorder": 11, "reference": "#1001", "status": "processing"},
}
RECOVERY_GOAL_SECONDS = 30.0  # issue 11: orders sent during an outage reach the queue this soon after it


class Queue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def __call__(self, source: str, inbox_id: int) -> None:
        with self._lock:
            self.sent.append((source, inbox_id))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The mirror when the database answers (SQLite and PostgreSQL)."""
    upgrade_database(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def down_engine() -> Iterator[Engine]:
    """A PostgreSQL that refuses connections (nothing listens on its port)."""
    engine = make_engine(
        f"postgresql://picqer:secret@127.0.0.1:{free_port()}/picqer_sync",
        timeouts=receiver_timeouts(make_settings()),
    )
    yield engine
    engine.dispose()


@pytest.fixture
def spool(redis_client: Any) -> RedisWebhookSpool:
    # this run's namespace: the real Redis fixture deletes exactly these keys afterwards
    return RedisWebhookSpool(redis_client, namespace=TEST_REDIS_NAMESPACE)


def _client(engine: Engine, queue: Queue, spool: RedisWebhookSpool | None, **options: Any) -> TestClient:
    app = create_receiver_app(make_settings(), engine=engine, enqueue=queue, spool=spool, **options)
    return TestClient(app, raise_server_exceptions=False)


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
        "X-Shopify-Webhook-Id": f"spool-{order_id}",
    }
    return client.post("/webhooks/sources/shop-nl", content=body, headers=headers)


def _inbox(engine: Engine) -> list[tuple[int, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(InboxEvent.id, InboxEvent.source, InboxEvent.event_key).order_by(InboxEvent.id)
        ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def _event(key: str = "k1", *, source: str = "picqer") -> SpooledEvent:
    return SpooledEvent.of(source=source, event_key=key, topic="orders.status_changed", payload="{}")


def test_spooled_while_down_then_drained_as_one_event_each(
    down_engine: Engine, engine: Engine, spool: RedisWebhookSpool
) -> None:
    queue = Queue()
    down = _client(down_engine, queue, spool)
    with capture_logs() as logs:
        first = _picqer(down)
    assert [entry["event"] for entry in logs] == ["webhook_spooled"]  # one line, with its cause
    assert logs[0]["cause"] == "OperationalError"
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "accepted"
    assert _picqer(down).status_code == 202  # the sender's retry of the same webhook
    assert _shopify(down).status_code == 202
    assert spool.size() == 2
    assert queue.sent == []

    assert drain_spool(spool, engine=engine, enqueue=queue) == 2
    rows = _inbox(engine)
    assert [source for _, source, _ in rows] == ["picqer", "shop-nl"]
    assert queue.sent == [(source, inbox_id) for inbox_id, source, _ in rows]
    assert spool.size() == 0
    assert drain_spool(spool, engine=engine, enqueue=queue) == 0

    # the key a direct store uses: the same webhook, now straight to the inbox, is a duplicate
    up = _client(engine, queue, spool)
    assert _picqer(up).json() == {"status": "duplicate"}
    assert _shopify(up).json() == {"status": "duplicate"}
    assert len(_inbox(engine)) == 2
    assert len(queue.sent) == 2


def test_the_spooled_event_keeps_the_time_it_was_received(engine: Engine, spool: RedisWebhookSpool) -> None:
    event = _event()
    assert spool.put(event)
    drain_spool(spool, engine=engine, enqueue=Queue())
    with session_scope(engine) as session:
        row = session.get(InboxEvent, _inbox(engine)[0][0])
        assert row is not None
        assert row.received_at.replace(tzinfo=None) == event.received_at.replace(tzinfo=None)


def test_a_crash_between_store_and_delete_moves_it_again_harmlessly(
    engine: Engine, spool: RedisWebhookSpool
) -> None:
    queue = Queue()
    event = _event()
    spool.put(event)
    move_to_inbox(engine, event)  # stored, then the drain died before enqueue and delete
    assert drain_spool(spool, engine=engine, enqueue=queue) == 1
    [(inbox_id, _, _)] = _inbox(engine)
    # still unprocessed, so enqueued (a second message for it would be applied once)
    assert queue.sent == [("picqer", inbox_id)]
    mark_processed(engine, inbox_id=inbox_id)
    spool.put(event)  # and once it is processed, a late copy is stored and enqueued no more
    assert drain_spool(spool, engine=engine, enqueue=queue) == 1
    assert len(_inbox(engine)) == 1
    assert queue.sent == [("picqer", inbox_id)]


def test_one_drain_at_a_time(engine: Engine, spool: RedisWebhookSpool) -> None:
    spool.put(_event())
    with spool.drain_lock() as held:
        assert held is not None
        assert drain_spool(spool, engine=engine, enqueue=Queue()) == 0  # another process is draining
        assert spool.size() == 1
    assert drain_spool(spool, engine=engine, enqueue=Queue()) == 1


def test_the_drain_waits_while_the_database_is_still_down(
    down_engine: Engine, spool: RedisWebhookSpool
) -> None:
    spool.put(_event("k1"))
    spool.put(_event("k2"))
    with capture_logs() as logs:
        assert drain_spool(spool, engine=down_engine, enqueue=Queue()) == 0
    assert spool.size() == 2
    assert [entry["event"] for entry in logs] == ["webhook_spool_waiting"]


def test_a_failed_enqueue_leaves_the_row_for_the_requeue(engine: Engine, spool: RedisWebhookSpool) -> None:
    def queue_down(source: str, inbox_id: int) -> None:
        raise ConnectionError("redis is away")

    spool.put(_event())
    assert drain_spool(spool, engine=engine, enqueue=queue_down) == 1
    assert spool.size() == 0
    with session_scope(engine) as session:
        row = session.get(InboxEvent, _inbox(engine)[0][0])
        assert row is not None
        assert row.error is not None
        assert row.error.startswith("not enqueued")  # the scheduler's inbox-requeue sends it


def test_an_entry_the_database_can_never_hold_is_dropped(engine: Engine, spool: RedisWebhookSpool) -> None:
    spool.put(_event("bad\x00key"))
    spool.put(_event("good"))
    with capture_logs() as logs:
        moved = drain_spool(spool, engine=engine, enqueue=Queue())
    assert spool.size() == 0
    keys = [key for _, _, key in _inbox(engine)]
    if engine.dialect.name == "postgresql":
        assert (moved, keys) == (1, ["good"])
        assert "webhook_spool_entry_dropped" in [entry["event"] for entry in logs]
    else:
        assert moved == 2  # SQLite holds a NUL


def test_without_a_spool_nothing_changes(down_engine: Engine) -> None:
    response = _picqer(_client(down_engine, Queue(), None))
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()


def test_with_redis_down_too_it_is_a_503(down_engine: Engine) -> None:
    away = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5)
    response = _picqer(_client(down_engine, Queue(), RedisWebhookSpool(away, namespace=TEST_REDIS_NAMESPACE)))
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()


def test_a_silent_database_spools_within_the_deadline(spool: RedisWebhookSpool) -> None:
    proxy = TcpProxy()
    engine = make_engine(
        f"postgresql://picqer:secret@127.0.0.1:{proxy.port}/picqer_sync",
        timeouts=receiver_timeouts(make_settings()),
    )
    try:
        started = time.monotonic()
        response = _picqer(_client(engine, Queue(), spool))
        elapsed = time.monotonic() - started
        assert response.status_code == 202, response.text
        assert elapsed < WEBHOOK_BOUND, elapsed
        assert spool.size() == 1
    finally:
        engine.dispose()
        proxy.close()


def test_the_drainer_skips_an_empty_spool_and_survives_a_lost_redis(engine: Engine) -> None:
    class Flaky:
        def __init__(self) -> None:
            self.up = False

        def size(self) -> int:
            if not self.up:
                raise ConnectionError("redis is away")
            return 0

    flaky = Flaky()
    drainer = SpoolDrainer(flaky, engine=engine, enqueue=Queue())  # type: ignore[arg-type]
    with capture_logs() as logs:
        assert drainer.tick() == 0
        assert drainer.tick() == 0
        flaky.up = True
        assert drainer.tick() == 0
    assert [entry["event"] for entry in logs] == ["webhook_spool_unreachable", "webhook_spool_reachable"]


def test_the_web_app_drains_in_the_background(engine: Engine, spool: RedisWebhookSpool) -> None:
    queue = Queue()
    spool.put(_event())
    app = create_receiver_app(make_settings(), engine=engine, enqueue=queue, spool=spool, drain_interval=0.05)
    with TestClient(app):  # the lifespan starts the drain thread and stops it on the way out
        deadline = time.monotonic() + 10
        while not queue.sent:
            assert time.monotonic() < deadline, "the spool was not drained"
            time.sleep(0.02)
    assert spool.size() == 0
    assert len(_inbox(engine)) == 1


@pytest.mark.postgres
@pytest.mark.redis
def test_postgresql_down_for_a_while_redis_up_end_to_end(postgres_url: str, real_redis: Any) -> None:
    """Webhooks sent while PostgreSQL refuses connections are answered 202, and reach the queue
    within seconds of its return (issue 11: 70 s before, the goal 30 s)."""
    upgrade_database(postgres_url)
    proxy = TcpProxy(upstream=("127.0.0.1", 5432), state="forward")
    receiver_engine = make_engine(proxy.url(postgres_url), timeouts=receiver_timeouts(make_settings()))
    direct = make_engine(postgres_url)
    spool = RedisWebhookSpool(real_redis, namespace=TEST_REDIS_NAMESPACE)
    queue = Queue()
    app = create_receiver_app(
        make_settings(), engine=receiver_engine, enqueue=queue, spool=spool, drain_interval=0.2
    )
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert _picqer(client, 1).status_code == 202  # up: straight to the inbox
            proxy.refuse()
            answers = [_picqer(client, idhook).status_code for idhook in (2, 3, 4)]
            answers += [_shopify(client, 7).status_code, _shopify(client, 7).status_code]  # and a retry
            assert answers == [202] * 5
            assert len(_inbox(direct)) == 1
            assert spool.size() == 4
            back = time.monotonic()
            proxy.forward()
            while len(queue.sent) < 5:
                assert time.monotonic() - back < RECOVERY_GOAL_SECONDS, queue.sent
                time.sleep(0.05)
        assert spool.size() == 0
        rows = _inbox(direct)
        assert len(rows) == 5
        assert sorted(queue.sent) == sorted((source, inbox_id) for inbox_id, source, _ in rows)
    finally:
        receiver_engine.dispose()
        direct.dispose()
        proxy.close()


def test_a_value_postgresql_cannot_hold_is_a_400_even_while_it_is_down(
    down_engine: Engine, spool: RedisWebhookSpool
) -> None:
    # spooled, it would be accepted now and refused by the inbox later: the sender must hear now
    answer = store_and_enqueue(
        "shop-nl",
        source="shop-nl",
        event_key="orders/updated:1:2026\x00",
        topic="orders/updated",
        payload="{}",
        engine=down_engine,
        enqueue=Queue(),
        spool=spool,
    )
    assert answer.status == 400
    assert spool.size() == 0


def test_ready_while_the_spool_takes_the_place_of_a_database_that_is_down(
    down_engine: Engine, spool: RedisWebhookSpool
) -> None:
    # a load balancer keeps sending webhooks to a receiver that spools them: they are 202s
    answer = _client(down_engine, Queue(), spool, queue_ping=lambda: None).get("/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.json()["spool"] == "ok"
    assert answer.json()["database"].startswith("unavailable")
    # without a spool, the same database makes the receiver unready
    assert _client(down_engine, Queue(), None, queue_ping=lambda: None).get("/readyz").status_code == 503

    def queue_down() -> None:
        raise ConnectionError("redis is away")

    # nor is it ready when the queue (the spool's Redis) is away too
    assert _client(down_engine, Queue(), spool, queue_ping=queue_down).get("/readyz").status_code == 503
