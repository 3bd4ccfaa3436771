"""Repository functions for ``webhook_inbox``: store once, process once, sweep what was left."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
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
