"""A webhook stored while the queue was away (answered 503) is enqueued within seconds of its return."""

from __future__ import annotations

import pytest

from worker.config import Settings
from worker.db.migrate import upgrade_database
from worker.db.models import InboxEvent
from worker.db.session import make_engine, session_scope
from worker.scheduler import INBOX_REQUEUE_SECONDS, SchedulerTargets, build_jobs
from worker.sync.inbox import NOT_ENQUEUED, InboxSweeper, enqueue_noting_failures, store_event


class Queue:
    def __init__(self) -> None:
        self.up = False
        self.sent: list[tuple[str, int]] = []

    def enqueue(self, source: str, inbox_id: int) -> None:
        if not self.up:
            raise ConnectionError("redis is away")
        self.sent.append((source, inbox_id))


def test_a_row_whose_enqueue_failed_is_enqueued_as_soon_as_the_queue_returns(database_url: str) -> None:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    queue = Queue()
    receiver_enqueue = enqueue_noting_failures(engine, queue.enqueue)
    stored = store_event(engine, source="picqer", event_key="k1", topic="orders.status_changed", payload="{}")
    with pytest.raises(ConnectionError):
        receiver_enqueue("picqer", stored.inbox_id)  # the receiver answers 503
    with session_scope(engine) as session:
        row = session.get(InboxEvent, stored.inbox_id)
        assert row is not None
        assert row.error is not None
        assert row.error.startswith(NOT_ENQUEUED)

    sweeper = InboxSweeper(engine, queue.enqueue)  # the ordinary grace (minutes) does not apply
    with pytest.raises(ConnectionError):
        sweeper.requeue_not_enqueued()  # still away: the row keeps its mark
    queue.up = True
    assert sweeper.requeue_not_enqueued() == 1
    assert queue.sent == [("picqer", stored.inbox_id)]
    assert sweeper.requeue_not_enqueued() == 0  # enqueued once, not again
    with session_scope(engine) as session:
        row = session.get(InboxEvent, stored.inbox_id)
        assert row is not None
        assert row.error is None
    engine.dispose()


def test_the_scheduler_requeues_often_enough() -> None:
    def noop(*_: object) -> None:
        return None

    targets = SchedulerTargets(
        poll_source=noop,
        reconcile=noop,
        sweep_inbox=noop,
        sweep_fulfilment=noop,
        check_hooks=noop,
        requeue_inbox=noop,
    )
    jobs = {job.name: job for job in build_jobs(Settings(database_url="sqlite://", redis_url=""), targets)}
    assert jobs["inbox-requeue"].interval == INBOX_REQUEUE_SECONDS <= 15  # within 30 s of the return
