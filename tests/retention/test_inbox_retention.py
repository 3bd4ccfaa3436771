"""Processed webhooks are deleted after ``inbox_retention_days``; rows that still need work are kept."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import select

from worker.config import Settings
from worker.db import inbox
from worker.db.models import InboxEvent
from worker.db.session import session_scope
from worker.sync.retention import inbox_retention, prune_expired

NOW = datetime(2026, 12, 20, 12, 0, 0)
DAY = timedelta(days=1)


def _store(
    engine: Engine,
    key: str,
    *,
    received: datetime,
    processed: datetime | None = None,
    attempts: int = 0,
    error: str | None = None,
) -> None:
    with session_scope(engine) as session:
        row = inbox.store_inbox_event(
            session,
            source="shop",
            event_key=key,
            topic="orders/paid",
            payload='{"order": {"email": "j@example.com"}}',
            received_at=received,
        )
        assert row is not None
        row.processed_at, row.attempts, row.error = processed, attempts, error
        session.add(row)


def _keys(engine: Engine) -> set[str]:
    with session_scope(engine) as session:
        return set(session.exec(select(InboxEvent.event_key)).all())


def test_processed_rows_past_the_retention_go_and_rows_still_needing_work_stay(
    engine: Engine, settings: Settings
) -> None:
    old = NOW - 40 * DAY
    _store(engine, "processed-15-days-ago", received=old, processed=NOW - 15 * DAY)
    _store(engine, "given-up-15-days-ago", received=old, processed=NOW - 15 * DAY, error="gave up: 500")
    _store(engine, "processed-13-days-ago", received=old, processed=NOW - 13 * DAY)
    _store(engine, "given-up-yesterday", received=old, processed=NOW - DAY, error="gave up: 500")
    _store(engine, "waiting-40-days", received=old)
    _store(engine, "failing-and-retried", received=old, attempts=7, error="Picqer answered 503")
    _store(engine, "not-enqueued", received=old, error="not enqueued: ConnectionError")

    with structlog.testing.capture_logs() as logs:
        result = prune_expired(engine, settings, now=NOW)

    assert result.inbox_deleted == 2
    assert _keys(engine) == {
        "processed-13-days-ago",
        "given-up-yesterday",
        "waiting-40-days",
        "failing-and-retried",
        "not-enqueued",
    }
    [line] = [entry for entry in logs if entry["event"] == "personal_data_pruned"]
    assert (line["inbox_deleted"], line["retention_days"], line["complete"]) == (2, 14, True)


def test_the_clock_decides_and_a_row_processed_later_waits_for_its_own_retention(
    engine: Engine, settings: Settings
) -> None:
    _store(engine, "a", received=NOW - 20 * DAY, processed=NOW - 10 * DAY)
    _store(engine, "b", received=NOW - 20 * DAY)  # still waiting

    assert prune_expired(engine, settings, now=NOW).inbox_deleted == 0
    assert prune_expired(engine, settings, now=NOW + 5 * DAY).inbox_deleted == 1  # a: 15 days since
    assert _keys(engine) == {"b"}
    assert (
        prune_expired(engine, settings.model_copy(update={"inbox_retention_days": 1}), now=NOW).inbox_deleted
        == 0
    )


def test_pruning_goes_in_bounded_batches_and_the_next_run_goes_on(engine: Engine, settings: Settings) -> None:
    for number in range(7):
        _store(engine, f"old-{number}", received=NOW - 30 * DAY, processed=NOW - 20 * DAY)
    _store(engine, "new", received=NOW - DAY, processed=NOW - DAY)

    first = prune_expired(engine, settings, now=NOW, batch_size=2, max_batches=2)
    assert (first.inbox_deleted, first.complete) == (4, False)
    assert len(_keys(engine)) == 4

    second = prune_expired(engine, settings, now=NOW, batch_size=2, max_batches=10)
    assert (second.inbox_deleted, second.complete) == (3, True)
    assert _keys(engine) == {"new"}


def test_status_shows_the_oldest_kept_row_and_the_retention(engine: Engine, settings: Settings) -> None:
    empty = inbox_retention(engine, settings, now=NOW)
    assert (empty.kept, empty.oldest_received_at) == (0, None)
    assert empty.describe() == "Inbox: empty; processed webhooks are deleted 14 days after processing."

    _store(engine, "waiting", received=NOW - 3 * DAY - timedelta(hours=4))
    _store(engine, "processed", received=NOW - DAY, processed=NOW - DAY)
    shown = inbox_retention(engine, settings, now=NOW)

    assert (shown.kept, shown.retention_days, shown.oldest_waiting) == (2, 14, True)
    assert shown.oldest_received_at == NOW - 3 * DAY - timedelta(hours=4)
    assert shown.oldest_age_seconds == (3 * DAY + timedelta(hours=4)).total_seconds()
    assert "2 webhook(s) kept, the oldest received 2026-12-17 08:00:00 UTC (3d 04h ago, still waiting)" in (
        shown.describe()
    )
    assert shown.as_json()["oldest_received_at"] == "2026-12-17T08:00:00"
