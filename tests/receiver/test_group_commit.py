"""The inbox writer: webhooks stored in groups, one commit each, every answer still after its own
durable commit; a bad value spoils only its own webhook; a duplicate in a group is stored once."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from worker.db.models import InboxEvent
from worker.receiver import writer as writer_module
from worker.receiver.answers import Answer
from worker.receiver.batch import Pending, store_batch
from worker.receiver.writer import InboxWriter


def _event(key: str, payload: str = "{}") -> Pending:
    return Pending.of("shop-nl", source="shop-nl", event_key=key, topic="orders/updated", payload=payload)


def _keys(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(sa.select(InboxEvent.event_key).order_by(InboxEvent.id))]


def test_webhooks_that_arrive_during_a_commit_share_the_next_one(engine: Engine) -> None:
    sizes: list[int] = []
    sent: list[tuple[str, int]] = []
    first_taken, release = threading.Event(), threading.Event()

    def store(events: Sequence[Pending]) -> list[Answer]:
        sizes.append(len(events))
        if len(sizes) == 1:  # hold the first group while the others queue behind it
            first_taken.set()
            release.wait(10)
        return store_batch(
            events, engine=engine, enqueue=lambda source, inbox_id: sent.append((source, inbox_id))
        )

    writer = InboxWriter(store)
    try:
        first = writer.submit(_event("k0"))
        assert first_taken.wait(10)
        rest = [writer.submit(_event(f"k{n}")) for n in range(1, 21)]
        release.set()
        answers = [future.result(10) for future in [first, *rest]]
    finally:
        writer.stop()
    assert sizes == [1, 20]  # two commits for 21 webhooks
    assert {answer.status for answer in answers} == {202}
    assert sorted(_keys(engine)) == sorted(f"k{n}" for n in range(21))
    assert len(sent) == 21
    assert len({inbox_id for _, inbox_id in sent}) == 21


def test_a_value_the_database_cannot_hold_spoils_only_its_own_webhook(engine: Engine) -> None:
    sent: list[tuple[str, int]] = []
    bad = _event("bad", payload='{"x": "\udc80"}')  # a lone surrogate: no UTF-8 for it
    answers = store_batch(
        [_event("good-1"), bad, _event("good-2")],
        engine=engine,
        enqueue=lambda source, inbox_id: sent.append((source, inbox_id)),
    )
    assert [answer.status for answer in answers] == [202, 400, 202]
    assert sorted(_keys(engine)) == ["good-1", "good-2"]
    assert len(sent) == 2


def test_the_same_webhook_twice_in_one_group_is_stored_and_enqueued_once(engine: Engine) -> None:
    sent: list[tuple[str, int]] = []
    store_batch([_event("earlier")], engine=engine, enqueue=lambda *_: None)
    answers = store_batch(
        [_event("again"), _event("again"), _event("earlier")],
        engine=engine,
        enqueue=lambda source, inbox_id: sent.append((source, inbox_id)),
    )
    assert [answer.body["status"] for answer in answers] == ["accepted", "duplicate", "duplicate"]
    assert sorted(_keys(engine)) == ["again", "earlier"]
    assert len(sent) == 1


def test_a_webhook_given_up_on_before_its_group_was_taken_is_not_stored(engine: Engine) -> None:
    taken, release = threading.Event(), threading.Event()

    def store(events: Sequence[Pending]) -> list[Answer]:
        taken.set()
        release.wait(10)
        return store_batch(events, engine=engine, enqueue=lambda *_: None)

    writer = InboxWriter(store)
    try:
        writer.submit(_event("held"))
        assert taken.wait(10)
        late = writer.submit(_event("given-up"))
        assert late.cancel()  # its request ran out of time while the writer was busy
        release.set()
        writer.submit(_event("next")).result(10)
    finally:
        writer.stop()
    assert sorted(_keys(engine)) == ["held", "next"]


def test_the_acknowledging_commit_on_sqlite_is_synced_to_disk(sqlite_url: str) -> None:
    from worker.db.migrate import upgrade_database
    from worker.db.session import make_commits_durable, make_engine

    upgrade_database(sqlite_url)
    engine = make_engine(sqlite_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL elsewhere
        store_batch([_event("k")], engine=engine, enqueue=lambda *_: None)
        with engine.connect() as connection:  # the one pooled connection the store used
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            make_commits_durable(connection)  # once per connection: nothing to do again
    finally:
        engine.dispose()


def test_an_idle_writer_ends_its_thread_and_the_next_webhook_starts_one(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "IDLE_SECONDS", 0.05)
    writer = InboxWriter(lambda events: store_batch(events, engine=engine, enqueue=lambda *_: None))
    assert writer.submit(_event("first")).result(10).status == 202
    deadline = time.monotonic() + 10
    while writer._thread is not None:  # an app never shut down leaves no thread behind
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert writer.submit(_event("second")).result(10).status == 202
    writer.stop()
    assert sorted(_keys(engine)) == ["first", "second"]


def test_a_group_is_enqueued_in_one_call_when_the_queue_takes_groups(engine: Engine) -> None:
    calls: list[list[tuple[str, int]]] = []
    store_batch([_event("old")], engine=engine, enqueue=lambda *_: None)
    answers = store_batch(
        [_event("a"), _event("old"), _event("b"), _event("a")],
        engine=engine,
        enqueue=lambda *_: pytest.fail("one call for the group, not one each"),
        enqueue_many=lambda items: calls.append(list(items)),
    )
    assert [answer.body["status"] for answer in answers] == ["accepted", "duplicate", "accepted", "duplicate"]
    [call] = calls
    assert [source for source, _ in call] == ["shop-nl", "shop-nl"]
    assert len({inbox_id for _, inbox_id in call}) == 2


def test_a_group_the_queue_refused_is_503_and_noted_for_the_requeue(engine: Engine) -> None:
    def queue_down(items: Sequence[tuple[str, int]]) -> None:
        raise ConnectionError("redis is away")

    answers = store_batch(
        [_event("a"), _event("b")], engine=engine, enqueue=lambda *_: None, enqueue_many=queue_down
    )
    assert [answer.status for answer in answers] == [503, 503]
    with engine.connect() as connection:
        errors = [row[0] for row in connection.execute(sa.select(InboxEvent.error))]
    assert errors == ["not enqueued: ConnectionError"] * 2  # the scheduler's inbox-requeue sends them
    # the senders' retries: stored already, so 202 duplicates
    again = store_batch([_event("a")], engine=engine, enqueue=lambda *_: None, enqueue_many=queue_down)
    assert again[0].body == {"status": "duplicate"}
