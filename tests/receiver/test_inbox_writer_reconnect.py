"""The inbox writer's own connection, and the one-statement insert of a group.

The receiver's writer engine (worker/app.py) keeps one pooled PostgreSQL connection and does not
ping it before each group: when the database drops it (a restart, an administrator's
``pg_terminate_backend``), the next group must still be stored and answered 202, on a fresh
connection, not spooled or answered 503. Here that connection's own backend is terminated, found by
its ``pg_backend_pid()`` (nobody else's connection is touched).

``insert_inbox_rows`` is one ``INSERT ... SELECT FROM unnest(arrays)`` on PostgreSQL and a
``VALUES`` list on SQLite: both keep the first of a key given twice, return only the rows they
inserted, and store every value exactly (array literals have their own quoting: binary arrays must
not need it). tests/receiver/test_group_commit.py covers the same through ``store_batch``'s answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from structlog.testing import capture_logs

from tests.queue.fakes import make_settings
from worker.db.inbox import NewInboxRow, insert_inbox_rows
from worker.db.migrate import upgrade_database
from worker.db.models import InboxEvent
from worker.db.session import make_engine
from worker.receiver.answers import ACCEPTED, DUPLICATE
from worker.receiver.app import receiver_timeouts
from worker.receiver.batch import Pending, store_batch
from worker.sync.spool import DrainLock, SpooledEvent

TABLE = InboxEvent.__tablename__
RECEIVED = datetime(2026, 1, 2, 3, 4, 5, 123456)


class RecordingSpool:
    """A spool that keeps what it is given (the writer must not need it here)."""

    def __init__(self) -> None:
        self.events: list[SpooledEvent] = []

    def put(self, event: SpooledEvent) -> bool:
        self.events.append(event)
        return True

    def peek(self, limit: int) -> list[tuple[str, SpooledEvent | None]]:
        return [(str(n), event) for n, event in enumerate(self.events[:limit])]

    def remove(self, entry_id: str) -> None:
        del self.events[int(entry_id)]

    def size(self) -> int:
        return len(self.events)

    def drain_lock(self) -> AbstractContextManager[DrainLock | None]:
        return nullcontext(None)


def _event(key: str, payload: str = '{"id": 1}') -> Pending:
    return Pending.of("shop-nl", source="shop-nl", event_key=key, topic="orders/updated", payload=payload)


def _stored(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(f"SELECT event_key, payload FROM {TABLE} ORDER BY id")
        return {key: payload for key, payload in rows}


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _terminate(admin: Engine, pid: int) -> None:
    """End backend ``pid`` as a restart would, and wait until PostgreSQL has let it go."""
    with admin.connect() as connection:
        assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    deadline = time.monotonic() + 30
    while True:
        # a transaction of its own each time: pg_stat_activity is a snapshot taken once per transaction
        with admin.connect() as connection:
            listed = connection.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar_one()
        if not listed:
            return
        assert time.monotonic() < deadline, f"backend {pid} still there"
        time.sleep(0.02)


# -- the writer's connection dropped between two groups (PostgreSQL) ------------------------------


@pytest.fixture
def writer_engine(postgres_url: str) -> Iterator[Engine]:
    """The receiver's writer engine, as worker/app.py makes it: one connection, never pinged."""
    upgrade_database(postgres_url)
    timeouts = receiver_timeouts(make_settings(database_url=postgres_url))
    engine = make_engine(postgres_url, timeouts=timeouts, pool_pre_ping=False, pool_size=1)
    yield engine
    engine.dispose()


@pytest.fixture
def admin(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_a_group_after_the_connection_was_dropped_is_stored_and_accepted(
    writer_engine: Engine, admin: Engine
) -> None:
    sent: list[tuple[str, int]] = []
    spool = RecordingSpool()

    def enqueue(source: str, inbox_id: int) -> None:
        sent.append((source, inbox_id))

    assert store_batch([_event("before")], engine=writer_engine, enqueue=enqueue, spool=spool) == [ACCEPTED]
    pid = _backend_pid(writer_engine)
    assert _backend_pid(writer_engine) == pid  # the pool's one connection, kept between groups
    _terminate(admin, pid)

    with capture_logs() as logs:
        answers = store_batch([_event("after")], engine=writer_engine, enqueue=enqueue, spool=spool)
    assert answers == [ACCEPTED]
    assert spool.events == []
    assert list(_stored(writer_engine)) == ["before", "after"]
    assert len(sent) == 2
    assert len({inbox_id for _, inbox_id in sent}) == 2
    # it was the dead connection that failed, and the group was written again on a new one
    assert [log["event"] for log in logs].count("inbox_connection_replaced") == 1
    assert _backend_pid(writer_engine) != pid


@pytest.mark.postgres
def test_a_whole_group_is_written_again_with_its_duplicates_and_one_enqueue(
    writer_engine: Engine, admin: Engine
) -> None:
    groups: list[list[tuple[str, int]]] = []
    store_batch([_event("old")], engine=writer_engine, enqueue=lambda *_: None)
    _terminate(admin, _backend_pid(writer_engine))
    answers = store_batch(
        [_event("a"), _event("old"), _event("b"), _event("a")],
        engine=writer_engine,
        enqueue=lambda *_: pytest.fail("the group goes to enqueue_many"),
        spool=RecordingSpool(),
        enqueue_many=lambda items: groups.append(list(items)),
    )
    assert answers == [ACCEPTED, DUPLICATE, ACCEPTED, DUPLICATE]
    assert sorted(_stored(writer_engine)) == ["a", "b", "old"]
    [group] = groups
    assert len(group) == 2


@pytest.mark.postgres
def test_a_database_still_away_on_the_second_try_goes_to_the_spool(
    writer_engine: Engine, admin: Engine
) -> None:
    """One retry, no loop: when the fresh connection cannot be had either, the group is spooled."""
    store_batch([_event("before")], engine=writer_engine, enqueue=lambda *_: None)
    _terminate(admin, _backend_pid(writer_engine))

    def refuse(*_: Any) -> None:
        raise psycopg.OperationalError("the database system is starting up")

    sa.event.listen(writer_engine.pool, "connect", refuse)
    spool = RecordingSpool()
    with capture_logs() as logs:
        answers = store_batch([_event("during")], engine=writer_engine, enqueue=lambda *_: None, spool=spool)
    sa.event.remove(writer_engine.pool, "connect", refuse)
    assert [log["event"] for log in logs].count("inbox_connection_replaced") == 1  # tried again once
    assert answers[0].status == 202
    assert [event.event_key for event in spool.events] == ["during"]
    assert list(_stored(writer_engine)) == ["before"]


# -- insert_inbox_rows on SQLite and PostgreSQL ---------------------------------------------------


# ``engine``: tests/receiver/conftest.py (a migrated mirror on SQLite and on PostgreSQL)


def _row(
    key: str, payload: str = "{}", *, source: str = "shop-nl", topic: str = "orders/paid"
) -> NewInboxRow:
    return NewInboxRow(source=source, event_key=key, topic=topic, payload=payload, received_at=RECEIVED)


def _insert(engine: Engine, rows: list[NewInboxRow]) -> dict[tuple[str, str], int]:
    with engine.begin() as connection:
        return insert_inbox_rows(connection, rows)


def _rows_by_key(connection: Connection) -> dict[tuple[str, str], tuple[Any, ...]]:
    table = sa.inspect(InboxEvent).local_table
    statement = sa.select(
        table.c.source, table.c.event_key, table.c.id, table.c.topic, table.c.payload, table.c.received_at
    )
    return {(row[0], row[1]): tuple(row[2:]) for row in connection.execute(statement)}


def test_nothing_to_insert_is_nothing(engine: Engine) -> None:
    assert _insert(engine, []) == {}
    assert _stored(engine) == {}


def test_a_key_given_twice_in_one_call_keeps_the_first(engine: Engine) -> None:
    inserted = _insert(
        engine,
        [
            _row("k1", "first"),
            _row("k2", "two"),
            _row("k1", "second"),
            _row("k2", "again"),
            _row("k1", "third"),
        ],
    )
    assert set(inserted) == {("shop-nl", "k1"), ("shop-nl", "k2")}
    assert _stored(engine) == {"k1": "first", "k2": "two"}
    with engine.connect() as connection:
        stored = _rows_by_key(connection)
    assert {key: values[0] for key, values in stored.items()} == inserted  # the ids of those rows


def test_the_same_key_from_another_source_is_another_row(engine: Engine) -> None:
    inserted = _insert(engine, [_row("k", "shop"), _row("k", "picqer", source="picqer")])
    assert set(inserted) == {("shop-nl", "k"), ("picqer", "k")}
    assert len(set(inserted.values())) == 2


def test_rows_stored_before_are_not_returned_nor_changed(engine: Engine) -> None:
    before = _insert(engine, [_row("old", "original")])
    inserted = _insert(engine, [_row("new-1"), _row("old", "changed"), _row("new-2")])
    assert set(inserted) == {("shop-nl", "new-1"), ("shop-nl", "new-2")}
    assert before[("shop-nl", "old")] not in inserted.values()
    assert _stored(engine)["old"] == "original"
    assert _insert(engine, [_row("old"), _row("new-1")]) == {}  # all stored: nothing returned


TRICKY = [
    '{"note": "she said \\"hi\\""}',
    "back\\slash \\\\ two \\n not a newline",
    "\"quoted\" and 'single'",
    "line one\nline two\r\nthree\tTAB",
    "Grüße, naïve café, 東京, עברית, e\u0301, 😀, \u2028\u2029",
    "NULL",
    "null",
    "",
    "   leading and trailing spaces   ",
    "{}",
    '{"a","b"}',
    "{a,b}",
    "a,b",
    "(1,2)",
    "\\N",
    "x" * 1_000_000,
]


def test_payloads_keys_and_times_round_trip_exactly(engine: Engine) -> None:
    rows = [
        NewInboxRow(
            source="shop-nl",
            event_key=f'key {n} "{text[:20]}" \\ é',
            topic=f"orders/{text[:30]}",
            payload=text,
            received_at=RECEIVED.replace(microsecond=n),
        )
        for n, text in enumerate(TRICKY)
    ]
    inserted = _insert(engine, rows)
    assert len(inserted) == len(rows)
    with engine.connect() as connection:
        stored = _rows_by_key(connection)
    for row in rows:
        inbox_id, topic, payload, received_at = stored[(row.source, row.event_key)]
        assert inbox_id == inserted[(row.source, row.event_key)]
        assert (topic, payload, received_at) == (row.topic, row.payload, row.received_at)


def test_one_connection_inserts_groups_of_any_size(engine: Engine) -> None:
    """The statement is reused for every size on one connection (psycopg prepares it after a few)."""
    sizes = [1, 3, 2, 50, 1, 7, 300, 1, 2, 4]
    seen: set[int] = set()
    with engine.connect() as connection:
        for group, size in enumerate(sizes):
            with connection.begin():
                rows = [_row(f"g{group}-{n}", f"payload {group} {n}") for n in range(size)]
                inserted = insert_inbox_rows(connection, rows)
            assert set(inserted) == {(row.source, row.event_key) for row in rows}
            assert not seen & set(inserted.values())
            seen |= set(inserted.values())
    stored = _stored(engine)
    assert len(stored) == sum(sizes)
    assert stored["g6-299"] == "payload 6 299"


# -- what PostgreSQL cannot hold ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "row",
    [
        _row("k" * 256),  # event_key is VARCHAR(255)
        _row("k", topic="t" * 101),  # topic is VARCHAR(100)
        _row("k", source="s" * 101),  # source is VARCHAR(100)
        _row("k", "a NUL \x00 in text"),  # PostgreSQL text holds no NUL
    ],
    ids=["event_key", "topic", "source", "nul"],
)
def test_a_value_postgresql_cannot_hold_is_a_data_error(postgres_url: str, row: NewInboxRow) -> None:
    """A DataError is what the receiver answers 400 (the sender's fault), never a 503 to retry."""
    upgrade_database(postgres_url)
    engine = make_engine(postgres_url)
    try:
        with pytest.raises(sa.exc.DataError):
            _insert(engine, [_row("fine"), row])
        assert _stored(engine) == {}  # the statement failed whole
    finally:
        engine.dispose()
