"""Repository functions for ``webhook_inbox``: store once, process once, sweep what was left."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from worker.db.models import InboxEvent, utcnow


def store_inbox_event(
    session: Session,
    *,
    source: str,
    event_key: str,
    topic: str,
    payload: str,
    received_at: datetime | None = None,
) -> InboxEvent | None:
    """Store a webhook; None when this (source, event_key) is already stored (a duplicate)."""
    existing = session.exec(
        select(InboxEvent).where(InboxEvent.source == source, InboxEvent.event_key == event_key)
    ).first()
    if existing is not None:
        return None
    event = InboxEvent(
        source=source, event_key=event_key, topic=topic, payload=payload, received_at=received_at or utcnow()
    )
    try:
        # a savepoint, so a racing duplicate insert fails alone and the caller's transaction lives
        with session.begin_nested():
            session.add(event)
    except sa.exc.IntegrityError:
        return None
    return event


SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's DateTime is stored in SQLite


@dataclass(frozen=True)
class NewInboxRow:
    """One webhook for :func:`insert_inbox_rows` (values already fitted to their columns)."""

    source: str
    event_key: str
    topic: str
    payload: str
    received_at: datetime


def insert_inbox_rows(connection: Connection, rows: Sequence[NewInboxRow]) -> dict[tuple[str, str], int]:
    """Insert ``rows`` in one statement, skipping those whose (source, event_key) is stored already
    (or comes twice in ``rows``: the first is kept); returns the id of each row inserted, by key.

    One ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` for the whole batch, so a group of webhooks
    costs one round trip and one commit (the caller's), not one each. Written as the driver's own
    SQL: SQLAlchemy compiles a many-row VALUES afresh on every call, which cost more than the
    insert itself (``make bench``, ingest).
    """
    if not rows:
        return {}
    if connection.dialect.name == "postgresql":
        return _insert_postgres(connection, rows)
    sqlite_dialect = connection.dialect.name == "sqlite"
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    values = ", ".join([f"({mark}, {mark}, {mark}, {mark}, {mark}, 0)"] * len(rows))
    # only placeholders and constant names are put together here; every value is a bound parameter
    statement = (
        f"INSERT INTO {InboxEvent.__tablename__} (source, event_key, topic, payload, received_at, attempts) "  # noqa: S608
        f"VALUES {values} ON CONFLICT (source, event_key) DO NOTHING RETURNING id, source, event_key"
    )
    parameters: list[object] = []
    for row in rows:
        # SQLite keeps a DateTime as text in SQLAlchemy's format (microseconds always written)
        received = row.received_at.strftime(SQLITE_DATETIME) if sqlite_dialect else row.received_at
        parameters += [row.source, row.event_key, row.topic, row.payload, received]
    result = connection.exec_driver_sql(statement, tuple(parameters))
    return {(source, key): inbox_id for inbox_id, source, key in result.all()}


# one statement text for any number of rows (five arrays, unnested): PostgreSQL and psycopg parse
# and prepare it once per connection, where a VALUES list of N rows is a new statement for each N
_POSTGRES_INSERT = (
    f"INSERT INTO {InboxEvent.__tablename__} (source, event_key, topic, payload, received_at, attempts) "  # noqa: S608
    "SELECT source, event_key, topic, payload, received_at, 0 FROM unnest("
    "%b::text[], %b::text[], %b::text[], %b::text[], %b::timestamp[]"
    ") AS rows(source, event_key, topic, payload, received_at) "
    "ON CONFLICT (source, event_key) DO NOTHING RETURNING id, source, event_key"
)


def _insert_postgres(connection: Connection, rows: Sequence[NewInboxRow]) -> dict[tuple[str, str], int]:
    columns = (
        [row.source for row in rows],
        [row.event_key for row in rows],
        [row.topic for row in rows],
        [row.payload for row in rows],
        [row.received_at for row in rows],
    )
    result = connection.exec_driver_sql(_POSTGRES_INSERT, columns)
    return {(source, key): inbox_id for inbox_id, source, key in result.all()}


def find_inbox_ids(connection: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The ids of stored rows by (source, event_key); keys not stored are left out."""
    if not keys:
        return {}
    table = sa.inspect(InboxEvent).local_table
    statement = sa.select(table.c.id, table.c.source, table.c.event_key).where(
        sa.tuple_(table.c.source, table.c.event_key).in_(list(keys))
    )
    return {(source, key): inbox_id for inbox_id, source, key in connection.execute(statement).all()}


def mark_inbox_processed(session: Session, *, inbox_id: int, at: datetime | None = None) -> None:
    event = session.get(InboxEvent, inbox_id)
    if event is not None:
        event.processed_at = at or utcnow()
        event.error = None
        session.add(event)


def mark_inbox_attempt(session: Session, *, inbox_id: int, error: str | None) -> None:
    """Count one processing attempt and keep its error (a readable reason, no payload)."""
    event = session.get(InboxEvent, inbox_id)
    if event is not None:
        event.attempts += 1
        event.error = error
        session.add(event)


def list_unprocessed(session: Session, *, received_before: datetime, limit: int = 100) -> list[InboxEvent]:
    """Events stored before ``received_before`` and still not processed (for the sweeper)."""
    statement = (
        select(InboxEvent)
        .where(col(InboxEvent.processed_at).is_(None), InboxEvent.received_at < received_before)
        .order_by(col(InboxEvent.received_at), col(InboxEvent.id))
        .limit(limit)
    )
    return list(session.exec(statement).all())


def mark_not_enqueued(session: Session, *, inbox_id: int, reason: str) -> None:
    """Note that the event was stored but its enqueue failed (the receiver answered 503)."""
    event = session.get(InboxEvent, inbox_id)
    if event is not None and event.processed_at is None and event.attempts == 0:
        event.error = reason
        session.add(event)


def list_not_enqueued(session: Session, *, marker: str, limit: int = 100) -> list[InboxEvent]:
    """Unprocessed, never attempted events whose ``error`` starts with ``marker``, oldest first."""
    statement = (
        select(InboxEvent)
        .where(
            col(InboxEvent.processed_at).is_(None),
            InboxEvent.attempts == 0,
            col(InboxEvent.error).startswith(marker),
        )
        .order_by(col(InboxEvent.received_at), col(InboxEvent.id))
        .limit(limit)
    )
    return list(session.exec(statement).all())


def clear_not_enqueued(session: Session, *, inbox_id: int, marker: str) -> None:
    event = session.get(InboxEvent, inbox_id)
    if event is not None and event.error is not None and event.error.startswith(marker):
        event.error = None
        session.add(event)


def delete_processed_before(session: Session, *, processed_before: datetime, limit: int) -> int:
    """Delete at most ``limit`` rows processed (or given up on) before ``processed_before``, oldest
    first; returns how many. A row without ``processed_at`` (waiting, or failing and retried) is
    never deleted, whatever its age."""
    done_long_ago = sa.and_(
        col(InboxEvent.processed_at).is_not(None), col(InboxEvent.processed_at) < processed_before
    )
    ids = list(
        session.exec(
            select(InboxEvent.id)
            .where(done_long_ago)
            .order_by(col(InboxEvent.processed_at), col(InboxEvent.id))
            .limit(limit)
        ).all()
    )
    if not ids:
        return 0
    # the condition again: only what is still done long ago goes, whatever happened since the read
    deleted = session.execute(sa.delete(InboxEvent).where(col(InboxEvent.id).in_(ids), done_long_ago))
    return int(deleted.rowcount or 0)  # type: ignore[attr-defined]


def oldest_kept(session: Session) -> tuple[int, datetime | None, bool]:
    """How many rows the inbox keeps; when the first of them was received, and whether that one is
    still waiting (not processed: no retention applies to it)."""
    count = session.execute(sa.select(sa.func.count()).select_from(InboxEvent)).scalar_one()
    oldest = session.execute(
        sa.select(col(InboxEvent.received_at), col(InboxEvent.processed_at))
        .order_by(col(InboxEvent.received_at), col(InboxEvent.id))
        .limit(1)
    ).first()
    if oldest is None:
        return int(count), None, False
    return int(count), oldest[0], oldest[1] is None
