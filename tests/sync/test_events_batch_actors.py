"""A backlog of Picqer events through the real actors and worker threads: each event applied once,
every order at its newest status, and one fulfilment report per completed order, though most
messages find their event applied already by another message's batch."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest

from tests.queue.fakes import make_settings
from tests.sync.conftest import ContextFactory
from tests.sync.test_events_batch import BASE, add_order, backlog, mirror, unprocessed
from worker.queue.actors import declare_actors
from worker.queue.broker import QUEUE_NAME, make_broker, start_worker
from worker.sync.handlers import SyncHandlers


class ReportsRecorded(SyncHandlers):
    """The real use cases, but a fulfilment report is only counted (no shop here)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reports = Counter[int]()
        self._lock = threading.Lock()

    def report_fulfilment(self, order_row_id: int) -> bool:
        with self._lock:
            self.reports[order_row_id] += 1
        return True


@pytest.fixture(params=["in-process", "fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
def broker(request: pytest.FixtureRequest) -> Iterator[dramatiq.Broker]:
    client: Any = None
    if request.param == "fakeredis":
        import fakeredis

        client = fakeredis.FakeRedis()
    elif request.param == "redis":
        client = request.getfixturevalue("real_redis")
    broker = make_broker(make_settings(), redis_client=client)
    yield broker
    broker.close()


def test_a_backlog_through_the_actors_is_applied_once_and_reported_once(
    make_ctx: ContextFactory, broker: dramatiq.Broker
) -> None:
    from datetime import timedelta

    ctx = make_ctx()
    idorders = list(range(1001, 1031))
    row_ids = [add_order(ctx, idorder) for idorder in idorders]
    ids = backlog(ctx, idorders)
    handlers = ReportsRecorded(ctx)
    actors = declare_actors(broker, handlers, fulfilment_delay_ms=0)
    for inbox_id in ids:
        actors.enqueue_inbox("picqer", inbox_id)
    for inbox_id in ids[:10]:  # the sweeper's duplicates of messages already sent
        actors.enqueue_inbox("picqer", inbox_id)

    worker = start_worker(broker, threads=4, worker_timeout_ms=50)
    try:
        broker.join(QUEUE_NAME, timeout=60_000)
        worker.join()
    finally:
        worker.stop()

    assert unprocessed(ctx) == []
    assert mirror(ctx) == {idorder: ("completed", BASE + timedelta(minutes=30)) for idorder in idorders}
    assert handlers.reports == Counter(row_ids)  # each completed order reported exactly once
