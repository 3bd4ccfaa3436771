"""The worker through a database outage: real PostgreSQL behind a TCP proxy the test closes.

Closed, the proxy refuses connections and cuts the open ones (a database that went away); reopened,
the database is back. The worker's engine (``build_app``: connect and pool timeouts,
``pool_pre_ping``) fails fast while it is away and succeeds at the first try after; an actor's
message sent during the outage is retried every few seconds without spending its retries and goes
through at the first try after the database returns.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from structlog.testing import capture_logs

from tests.queue.fakes import RecordingHandlers, make_settings
from worker.app import build_app
from worker.queue.actors import Waits, declare_actors, outage_service
from worker.queue.broker import make_broker, start_worker

pytestmark = pytest.mark.postgres


class TcpProxy:
    """127.0.0.1:<port> forwarded to ``target``; ``close()`` refuses and cuts, ``open()`` serves."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        if self._listener is not None:
            # wakes the accepting thread (a bare close() leaves the port listening under it)
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    url = make_url(postgres_url)
    running = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    running.open()
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
    proxy.close()
    with pytest.raises(sa.exc.OperationalError) as refused:
        select_one(worker_engine)
    assert outage_service(refused.value) == "database"
    proxy.open()
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
            proxy.open()  # the database is back before this try
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
    proxy.close()
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
