"""Repository functions for ``sync_cursors``: how far each poll or reconcile got."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from adapters.types import PICQER
from worker.db.models import SyncCursor, utcnow

PICQER_CURSOR = PICQER  # the reconcile's cursor; shop polls use their source name


def get_cursor(session: Session, *, source: str) -> SyncCursor | None:
    return session.get(SyncCursor, source)


def set_cursor(
    session: Session, *, source: str, position: datetime | None, ran_at: datetime | None = None
) -> SyncCursor:
    """Store the cursor; ``position`` never moves backwards."""
    cursor = session.get(SyncCursor, source) or SyncCursor(source=source)
    if position is not None and (cursor.position is None or position > cursor.position):
        cursor.position = position
    cursor.last_run_at = ran_at or utcnow()
    cursor.updated_at = utcnow()
    session.add(cursor)
    session.flush()
    return cursor


def record_start(session: Session, *, source: str, start_at: datetime) -> SyncCursor:
    """Store where ``source``'s first poll starts (see ``worker/sync/polling.py: start_bound``)."""
    cursor = session.get(SyncCursor, source) or SyncCursor(source=source)
    if cursor.start_at != start_at:
        cursor.start_at = start_at
        cursor.updated_at = utcnow()
        session.add(cursor)
        session.flush()
    return cursor
