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
