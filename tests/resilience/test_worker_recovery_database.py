"""The worker through a database outage: real PostgreSQL behind a TCP proxy the test closes.

Closed, the proxy refuses connections and cuts the open ones (a database that went away); reopened,
the database is back. The worker's engine (``build_app``: connect and pool timeouts,
``pool_pre_ping``) fails fast while it is away and succeeds at the first try after; an actor's
message sent during the outage is retried every few seconds without spending its retries and goes
through at the first try after the database returns.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from structlog.testing import capture_logs

from tests.queue.fakes import RecordingHandlers, make_settings
from tests.support.tcpproxy import TcpProxy
from worker.app import build_app
from worker.queue.actors import Waits, declare_actors, outage_service
from worker.queue.broker import make_broker, start_worker

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    url = make_url(postgres_url)
    running = TcpProxy((url.host or "127.0.0.1", url.port or 5432), state="forward")
    yield running
    running.close()


@pytest.fixture
def proxied_url(postgres_url: str, proxy: TcpProxy) -> str:
    return make_url(postgres_url).set(port=proxy.port).render_as_string(hide_password=False)


@pytest.fixture
def worker_engine(proxied_url: str) -> Iterator[Engine]:
    """The engine ``build_app`` makes for a worker process, on the proxied database."""
    app = build_app(make_settings(database_url=proxied_url), handlers=RecordingHandlers())
    yield app.engine
    app.close()


def select_one(engine: Engine) -> Any:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT 1")).scalar()


def test_away_it_fails_fast_and_back_the_first_query_succeeds(worker_engine: Engine, proxy: TcpProxy) -> None:
    assert select_one(worker_engine) == 1  # a pooled connection, which the outage will break
    proxy.refuse()
    with pytest.raises(sa.exc.OperationalError) as refused:
        select_one(worker_engine)
    assert outage_service(refused.value) == "database"
    proxy.forward()
    # pool_pre_ping: the broken pooled connection is noticed and replaced, not handed out
    assert select_one(worker_engine) == 1


def test_a_message_sent_during_the_outage_goes_through_at_the_first_try_after(
    worker_engine: Engine, proxy: TcpProxy
) -> None:
    handlers = RecordingHandlers()
    succeeded = threading.Event()
    tries: list[str] = []

    def push(source: str, shop_order_id: str) -> None:
        if len(tries) == 3:
            proxy.forward()  # the database is back before this try
        try:
            select_one(worker_engine)
        except sa.exc.OperationalError:
            tries.append("refused")
            raise
        tries.append("ok")
        succeeded.set()

    handlers.behaviour["push_shop_order"] = push
    broker = make_broker(make_settings())
    actors = declare_actors(broker, handlers, waits=Waits(outage_retry_ms=(5, 20)))
    assert select_one(worker_engine) == 1
    proxy.refuse()
    worker = start_worker(broker, threads=2, worker_timeout_ms=50)
    try:
        with capture_logs() as logs:
            actors.push_shop_order.send_with_options(args=("shop-nl", "1001"), max_retries=0)
            assert succeeded.wait(60)
    finally:
        worker.stop()
        broker.close()
        dramatiq.set_broker(dramatiq.brokers.stub.StubBroker())
    assert tries == ["refused", "refused", "refused", "ok"]  # the first try after the return works
    assert handlers.dead_letters == []
    lines = [entry for entry in logs if entry["event"] == "retrying_after_outage"]
    assert [line["service"] for line in lines] == ["database"] * 3
