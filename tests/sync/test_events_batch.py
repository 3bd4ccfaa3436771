"""Picqer events applied in batches: each stored event exactly once, newest ``updated`` wins as if
applied one by one, one fulfilment report per completed order, and a failure rolls back all of it.

On SQLite and on PostgreSQL (the ``database_url`` fixture), with the worker's batch size.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from tests.sync.conftest import ContextFactory
from worker.db import orders
from worker.db.models import InboxEvent, Order, Picklist, SyncState
from worker.db.session import session_scope
from worker.sync import picqer_events
from worker.sync.context import SyncContext
from worker.sync.events import apply_picqer_event, apply_picqer_events
from worker.sync.inbox import PICQER_INBOX_SOURCE, store_event
from worker.sync.outcomes import EventKind, EventOutcome
from worker.sync.picqer_events import RecentlyApplied, process_picqer_event
from worker.sync.status import apply_order_state

BASE = datetime(2026, 3, 1, 9, 0, 0)


def add_order(ctx: SyncContext, idorder: int, *, status: str = "processing") -> int:
    """A mirrored order, pushed and processing in Picqer since ``BASE``; its row id."""
    with session_scope(ctx.engine) as session:
        row = Order(
            source="shop",
            shop_order_id=str(idorder),
            shop_order_number=str(idorder),
            reference=f"#{idorder}",
            idorder=idorder,
            sync_state=SyncState.SYNCED,
            picqer_status=status,
            picqer_updated=BASE,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def body(idorder: int, status: str, minutes: int, *, hook: int = 1, picklist: str | None = None) -> str:
    stamp = (BASE + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")
    order: dict[str, Any] = {
        "idorder": idorder,
        "reference": f"#{idorder}",
        "status": status,
        "updated": stamp,
    }
    if picklist is not None:
        order["picklists"] = [
            {"idpicklist": idorder * 10, "picklistid": f"P{idorder}", "status": picklist, "updated": stamp}
        ]
    return json.dumps(
        {
            "idhook": hook,
            "name": "sync",
            "event": "orders.status_changed",
            "event_triggered_at": stamp,
            "data": order,
        }
    )


def store(ctx: SyncContext, payload: str, key: str | None = None) -> int:
    return store_event(
        ctx.engine,
        source=PICQER_INBOX_SOURCE,
        event_key=key or f"k{hash(payload)}",
        topic="orders.status_changed",
        payload=payload,
    ).inbox_id


def mirror(ctx: SyncContext) -> dict[int, tuple[str | None, datetime | None]]:
    with session_scope(ctx.engine) as session:
        rows = session.execute(
            sa.select(col(Order.idorder), col(Order.picqer_status), col(Order.picqer_updated))
        ).all()
    return {int(idorder): (status, updated) for idorder, status, updated in rows}


def unprocessed(ctx: SyncContext) -> list[int]:
    with session_scope(ctx.engine) as session:
        table = InboxEvent.__table__  # type: ignore[attr-defined]
        return [
            int(row_id)
            for row_id in session.execute(
                sa.select(table.c.id).where(table.c.processed_at.is_(None)).order_by(table.c.id)
            ).scalars()
        ]


def inbox_row(ctx: SyncContext, inbox_id: int) -> InboxEvent:
    with session_scope(ctx.engine) as session:
        row = session.get(InboxEvent, inbox_id)
        assert row is not None
        return row


def completions(outcomes: list[EventOutcome]) -> Counter[int]:
    return Counter(o.order_id for o in outcomes if o.newly_completed and o.order_id is not None)


def backlog(ctx: SyncContext, idorders: list[int]) -> list[int]:
    """Each order paused, resumed, completed; every change twice (two hooks); stored newest first,
    so the late and duplicate events all come after the newest. The inbox ids."""
    ids = []
    for minutes, status in ((30, "completed"), (20, "processing"), (10, "paused")):
        for hook in (1, 2):
            for idorder in idorders:
                ids.append(store(ctx, body(idorder, status, minutes, hook=hook)))
    return ids


def test_one_message_applies_the_waiting_events_and_their_messages_are_then_no_ops(
    make_ctx: ContextFactory,
) -> None:
    ctx = make_ctx()
    idorders = [501, 502, 503]
    row_ids = {idorder: add_order(ctx, idorder) for idorder in idorders}
    ids = backlog(ctx, idorders)
    recent = RecentlyApplied()

    first = process_picqer_event(ctx, ids[0], recent=recent)
    rest = [process_picqer_event(ctx, inbox_id, recent=recent) for inbox_id in ids[1:]]

    assert len(first) == len(ids)  # the whole backlog in the first message's batch
    assert rest == [[]] * (len(ids) - 1)
    assert unprocessed(ctx) == []
    assert completions(first) == Counter(row_ids.values())
    assert Counter(o.kind for o in first) == {EventKind.APPLIED: 3, EventKind.STALE: 15}
    assert mirror(ctx) == {idorder: ("completed", BASE + timedelta(minutes=30)) for idorder in idorders}


def test_batches_of_another_process_leave_nothing_twice(make_ctx: ContextFactory) -> None:
    """Two processes (two contexts, each with its own memory) take the messages in turn."""
    first, second = make_ctx(), make_ctx()
    idorders = [601, 602, 603, 604]
    row_ids = {idorder: add_order(first, idorder) for idorder in idorders}
    ids = backlog(first, idorders)
    outcomes: list[EventOutcome] = []
    memories = (RecentlyApplied(), RecentlyApplied())

    for index, inbox_id in enumerate(ids):
        ctx = (first, second)[index % 2]
        outcomes += process_picqer_event(ctx, inbox_id, batch_size=5, recent=memories[index % 2])

    assert len(outcomes) == len(ids)
    assert unprocessed(first) == []
    assert completions(outcomes) == Counter(row_ids.values())
    assert mirror(first) == {idorder: ("completed", BASE + timedelta(minutes=30)) for idorder in idorders}


def test_worker_threads_at_once_apply_each_event_once(make_ctx: ContextFactory) -> None:
    """Four threads, a message each at a time (as dramatiq's worker threads): each row is applied by
    exactly one batch, the order rows are locked in one order (no deadlock), the newest wins."""
    ctx = make_ctx()
    idorders = list(range(701, 721))
    row_ids = {idorder: add_order(ctx, idorder) for idorder in idorders}
    ids = backlog(ctx, idorders)
    queue = list(ids)
    lock = threading.Lock()
    outcomes: list[EventOutcome] = []
    errors: list[BaseException] = []
    recent = RecentlyApplied()

    def work() -> None:
        while True:
            with lock:
                if not queue:
                    return
                inbox_id = queue.pop(0)
            try:
                done = process_picqer_event(ctx, inbox_id, batch_size=7, recent=recent)
            except BaseException as error:  # a deadlock or a double claim would land here
                errors.append(error)
                return
            with lock:
                outcomes.extend(done)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert len(outcomes) == len(ids)
    assert unprocessed(ctx) == []
    assert completions(outcomes) == Counter(row_ids.values())
    assert mirror(ctx) == {idorder: ("completed", BASE + timedelta(minutes=30)) for idorder in idorders}


def test_a_failed_batch_is_rolled_back_and_the_row_applied_alone(
    make_ctx: ContextFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_ctx()
    add_order(ctx, 801)
    add_order(ctx, 802)
    own = store(ctx, body(801, "completed", 30))
    poison = store(ctx, body(802, "completed", 30))
    real = apply_picqer_events

    def failing_on_poison(session: Any, events: Any) -> Any:
        if any(event.order().idorder == 802 for event in events):
            raise RuntimeError("cannot apply this one")
        return real(session, events)

    monkeypatch.setattr(picqer_events, "apply_picqer_events", failing_on_poison)

    outcomes = process_picqer_event(ctx, own)

    # the batch (own + poison) rolled back, then the own row alone: applied and processed
    assert [(o.idorder, o.kind) for o in outcomes] == [(801, EventKind.APPLIED)]
    assert unprocessed(ctx) == [poison]
    assert inbox_row(ctx, poison).attempts == 0  # not its failure yet: its own message decides
    assert mirror(ctx)[802] == ("processing", BASE)

    with pytest.raises(RuntimeError):
        process_picqer_event(ctx, poison)
    failed = inbox_row(ctx, poison)
    assert (failed.attempts, failed.processed_at) == (1, None)
    assert failed.error is not None
    assert "cannot apply this one" in failed.error

    # a row that failed is left to its own message: other batches no longer take it
    add_order(ctx, 803)
    later = store(ctx, body(803, "paused", 5))
    assert [o.idorder for o in process_picqer_event(ctx, later)] == [803]
    assert unprocessed(ctx) == [poison]


def test_a_corrupt_row_in_a_batch_is_given_up_and_the_others_applied(make_ctx: ContextFactory) -> None:
    ctx = make_ctx()
    add_order(ctx, 901)
    good = store(ctx, body(901, "paused", 5))
    corrupt = store(ctx, "{not json", key="corrupt")

    outcomes = process_picqer_event(ctx, good)

    assert [o.idorder for o in outcomes] == [901]
    assert unprocessed(ctx) == []
    row = inbox_row(ctx, corrupt)
    assert row.processed_at is not None
    assert row.error is not None
    assert row.error.startswith("gave up:")


def test_a_message_of_a_row_applied_already_reads_nothing_more(make_ctx: ContextFactory) -> None:
    ctx = make_ctx()
    add_order(ctx, 911)
    inbox_id = store(ctx, body(911, "paused", 5))
    recent = RecentlyApplied()
    assert len(process_picqer_event(ctx, inbox_id, recent=recent)) == 1
    assert inbox_id in recent

    # no database behind this context: the message must not need one
    unreachable = dataclasses.replace(ctx, engine=sa.create_engine("sqlite:////nonexistent/dir/mirror.db"))
    assert process_picqer_event(unreachable, inbox_id, recent=recent) == []
    assert process_picqer_event(ctx, inbox_id, recent=RecentlyApplied()) == []  # another process: one read


def test_recently_applied_forgets_the_oldest_beyond_its_size() -> None:
    recent = RecentlyApplied(size=3)
    recent.add([1, 2, 3])
    recent.add([3, 4])
    assert [n in recent for n in (1, 2, 3, 4)] == [False, True, True, True]


def test_picklists_of_one_batch_keep_the_newest(make_ctx: ContextFactory) -> None:
    """The same picklist twice in one batch, newest first: one INSERT may not touch a row twice,
    and the older may not overwrite the newer."""
    ctx = make_ctx()
    add_order(ctx, 921)
    newer = store(ctx, body(921, "completed", 30, picklist="closed"))
    store(ctx, body(921, "processing", 10, picklist="new"))
    store(ctx, body(921, "processing", 10, hook=2, picklist="new"))

    process_picqer_event(ctx, newer)

    with session_scope(ctx.engine) as session:
        [picklist] = session.exec(select(Picklist)).all()
    assert (picklist.status, picklist.updated) == ("closed", BASE + timedelta(minutes=30))
    assert unprocessed(ctx) == []


def test_an_older_view_read_before_an_event_never_moves_the_order_back(make_ctx: ContextFactory) -> None:
    """Reconcile reads the row, an event completes the order, then reconcile applies its older view
    of Picqer with the row it read: decided on the row as it is now, nothing moves back."""
    from adapters.picqer.models import PicqerOrder

    ctx = make_ctx()
    row_id = add_order(ctx, 931)
    with session_scope(ctx.engine) as session:
        read_earlier = orders.get_order_by_id(session, order_id=row_id)
    assert read_earlier is not None
    process_picqer_event(ctx, store(ctx, body(931, "completed", 30)))

    older = PicqerOrder.model_validate(
        {"idorder": 931, "status": "paused", "updated": (BASE + timedelta(minutes=10)).isoformat(" ")}
    )
    with session_scope(ctx.engine) as session:
        change = apply_order_state(session, read_earlier, older)

    assert not change.changed
    assert change.previous_status == "completed"
    assert mirror(ctx)[931] == ("completed", BASE + timedelta(minutes=30))


STATUSES = ("processing", "paused", "completed", "cancelled")
event_lists = st.lists(
    st.tuples(st.sampled_from([941, 942]), st.sampled_from(STATUSES), st.integers(0, 4)),
    min_size=1,
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=event_lists)
def test_a_batch_ends_where_one_by_one_ends(
    make_ctx: ContextFactory, events: list[tuple[int, str, int]]
) -> None:
    """Any events (ties within a second included): the batch leaves the mirror and reports the
    completions exactly as applying them one at a time does."""
    from adapters.picqer.webhooks import parse_event

    ctx = make_ctx()
    parsed = [parse_event(body(idorder, status, minutes).encode()) for idorder, status, minutes in events]
    results = []
    for apply_all in (False, True):
        with session_scope(ctx.engine) as session:
            session.execute(sa.delete(Order))
        for idorder in (941, 942):
            add_order(ctx, idorder)
        if apply_all:
            with session_scope(ctx.engine) as session:
                outcomes = [each.outcome for each in apply_picqer_events(session, parsed)]
        else:
            outcomes = [apply_picqer_event(ctx, event) for event in parsed]
        results.append((mirror(ctx), [(o.kind, o.newly_completed) for o in outcomes]))
    assert results[0] == results[1]


def test_a_message_whose_row_is_missing_is_done(make_ctx: ContextFactory) -> None:
    ctx = make_ctx()
    assert process_picqer_event(ctx, 123456) == []


def wait_until_blocked(ctx: SyncContext, blocked: threading.Thread) -> None:
    """Until the thread waits for a lock: PostgreSQL shows it; SQLite does not, so a short wait
    there (the test passes whether or not the thread got that far: it cannot pass wrongly)."""
    if ctx.engine.dialect.name != "postgresql":
        blocked.join(0.3)
        return
    for _ in range(200):
        with ctx.engine.connect() as connection:
            waiting = connection.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            ).scalar_one()
        if waiting:
            return
        blocked.join(0.05)
    raise AssertionError("the second writer never waited for the first")


def test_a_duplicate_applied_while_the_first_commits_reports_the_completion_once(
    make_ctx: ContextFactory,
) -> None:
    """Two hooks deliver the same completion to two workers at once: the second decides on the row
    as the first left it (it waits for the row's lock), so only one asks for the fulfilment report."""
    from adapters.picqer.webhooks import parse_event

    ctx = make_ctx()
    add_order(ctx, 951)
    first = parse_event(body(951, "completed", 30, hook=1).encode())
    second = parse_event(body(951, "completed", 30, hook=2).encode())
    later: list[EventOutcome] = []
    with session_scope(ctx.engine) as session:
        [applied] = apply_picqer_events(session, [first])
        racer = threading.Thread(target=lambda: later.append(apply_picqer_event(ctx, second)))
        racer.start()
        wait_until_blocked(ctx, racer)
    racer.join(30)

    assert applied.outcome.newly_completed
    assert [(o.kind, o.newly_completed) for o in later] == [(EventKind.STALE, False)]
