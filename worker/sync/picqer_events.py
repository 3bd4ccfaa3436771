"""Stored Picqer hook events, applied once to the mirror (see ``apply_picqer_events``), in batches.

Each stored event has a queue message of its own, but a message need not be applied on its own:
the thread that takes one also claims up to ``BATCH_SIZE - 1`` other waiting Picqer events and
applies them all in one transaction, each row marked processed in the same commit as its effect
(exactly once, whatever crashes). A commit per event was what the worker spent its time on.

Claiming, on PostgreSQL: the message's own row is locked first (``FOR UPDATE``: a batch holding it
is waited for, then the row is found processed, or free again when that batch rolled back), the
others with ``FOR UPDATE SKIP LOCKED``, newest first, so threads working down a backlog from its
oldest messages do not claim the rows the next messages name. Then ``UPDATE ... SET processed_at
WHERE processed_at IS NULL RETURNING id`` claims them for good: on SQLite, which has no row locks,
that statement takes the database's write lock and is the claim. A row that failed before
(``attempts > 0``) is left to its own message, so one bad event does not fail batch after batch.

The messages of rows applied in another message's batch are then done at once: this process
remembers what it applied (:class:`RecentlyApplied`); another process's rows cost one read.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from adapters.picqer.models import PicqerEvent
from adapters.picqer.webhooks import parse_event
from worker.db.models import InboxEvent, utcnow
from worker.db.session import session_scope
from worker.errors import WebhookRejected
from worker.logging import get_logger
from worker.sync import inbox
from worker.sync.context import SyncContext
from worker.sync.events import apply_picqer_events
from worker.sync.inbox import PICQER_INBOX_SOURCE
from worker.sync.outcomes import EventOutcome
from worker.sync.reasons import failure_reason

log = get_logger(__name__)

#: events applied in one transaction at most. Each batch has a fixed cost (the claim, the locks, a
#: commit), so larger batches drain a backlog faster (``make bench``: ~1,000 events/s at 50, ~1,400 at
#: 100); 100 order events hold their orders' rows for some tens of milliseconds
BATCH_SIZE = 100
#: inbox ids a process remembers having applied (a few minutes of a busy worker's backlog)
RECENT_IDS = 50_000


class RecentlyApplied:
    """The inbox ids this process applied and committed lately: their messages are no-ops."""

    def __init__(self, size: int = RECENT_IDS) -> None:
        self._order: deque[int] = deque()
        self._ids: set[int] = set()
        self._size = size
        self._lock = threading.Lock()

    def __contains__(self, inbox_id: object) -> bool:
        with self._lock:
            return inbox_id in self._ids

    def add(self, inbox_ids: list[int]) -> None:
        with self._lock:
            for inbox_id in inbox_ids:
                if inbox_id not in self._ids:
                    self._ids.add(inbox_id)
                    self._order.append(inbox_id)
            while len(self._order) > self._size:
                self._ids.discard(self._order.popleft())


class _BatchFailed(Exception):
    """A batch with other messages' rows failed: the row is tried again alone."""


def process_picqer_event(
    ctx: SyncContext,
    inbox_id: int,
    *,
    batch_size: int = BATCH_SIZE,
    recent: RecentlyApplied | None = None,
) -> list[EventOutcome]:
    """Apply the stored Picqer event ``inbox_id``, with other waiting ones; the outcomes of all the
    events applied (none when it is gone, applied already or corrupt).

    An outcome ``newly_completed`` asks for its order's fulfilment report. A failed batch is
    rolled back and the row tried alone; a failed attempt is counted on the row, with its reason,
    and the error raised for a retry.
    """
    if recent is not None and inbox_id in recent:
        return []
    try:
        return _apply_claimed(ctx, inbox_id, limit=max(1, batch_size), recent=recent)
    except _BatchFailed as failed:
        error = failed.__cause__
        log.warning("picqer_event_batch_failed", inbox_id=inbox_id, error_type=type(error).__name__)
    except Exception as error:
        inbox.record_attempt(ctx.engine, inbox_id=inbox_id, error=failure_reason(error))
        raise
    try:
        return _apply_claimed(ctx, inbox_id, limit=1, recent=recent)
    except Exception as error:
        inbox.record_attempt(ctx.engine, inbox_id=inbox_id, error=failure_reason(error))
        raise


@dataclass(frozen=True)
class _Claimed:
    inbox_id: int
    event: PicqerEvent | None  # None: the stored body does not parse (given up on)
    reason: str | None = None


def _apply_claimed(
    ctx: SyncContext, inbox_id: int, *, limit: int, recent: RecentlyApplied | None
) -> list[EventOutcome]:
    claimed: list[_Claimed] = []
    started = time.monotonic()
    try:
        with session_scope(ctx.engine) as session:
            claimed = _claim(session, inbox_id, limit=limit)
            corrupt = {row.inbox_id: row.reason for row in claimed if row.event is None}
            if corrupt:
                _give_up(session, corrupt)
            applied = apply_picqer_events(session, [row.event for row in claimed if row.event is not None])
    except Exception as error:
        if len(claimed) > 1:
            raise _BatchFailed from error
        raise
    if recent is not None:
        recent.add([row.inbox_id for row in claimed])
    for row in claimed:
        if row.event is None:
            log.warning("picqer_event_given_up", inbox_id=row.inbox_id, reason=row.reason)
    for each in applied:
        each.log()
    if len(claimed) > 1:
        elapsed_ms = round((time.monotonic() - started) * 1000)
        log.info("picqer_events_batch", inbox_id=inbox_id, events=len(claimed), elapsed_ms=elapsed_ms)
    return [each.outcome for each in applied]


def _claim(session: Session, inbox_id: int, *, limit: int) -> list[_Claimed]:
    """The rows this transaction now owns, oldest first: ``inbox_id`` (when not processed yet) and
    up to ``limit - 1`` other waiting Picqer events; each marked processed, to commit with its effect."""
    table = InboxEvent.__table__  # type: ignore[attr-defined]
    own = session.execute(
        sa.select(table.c.id, table.c.processed_at).where(table.c.id == inbox_id).with_for_update()
    ).first()
    if own is None:
        log.warning("inbox_event_missing", inbox_id=inbox_id)
        return []
    if own.processed_at is not None:
        log.debug("inbox_event_already_processed", inbox_id=inbox_id)
        return []
    ids = [inbox_id]
    if limit > 1:
        # ids only: the candidates are sorted, and their bodies are read once, by the claim below
        ids += session.execute(
            sa.select(table.c.id)
            .where(
                table.c.source == PICQER_INBOX_SOURCE,
                table.c.processed_at.is_(None),
                table.c.attempts == 0,
                table.c.id != inbox_id,
            )
            .order_by(table.c.id.desc())
            .limit(limit - 1)
            .with_for_update(skip_locked=True)
        ).scalars()
    marked = session.execute(
        sa.update(table)
        .where(table.c.id.in_(ids), table.c.processed_at.is_(None))
        .values(processed_at=utcnow(), error=None)
        .returning(table.c.id, table.c.payload)
    )
    owned: dict[int, str] = {row.id: row.payload for row in marked}
    claimed = []
    for row_id in sorted(owned):
        try:
            claimed.append(_Claimed(row_id, parse_event(owned[row_id].encode("utf-8"))))
        except WebhookRejected as error:  # verified at the door; only a corrupted row gets here
            claimed.append(_Claimed(row_id, None, error.reason))
    return claimed


def _give_up(session: Session, reasons: dict[int, str | None]) -> None:
    """Rows whose body no longer parses: done (never applied), the reason kept for a person."""
    table = InboxEvent.__table__  # type: ignore[attr-defined]
    for row_id, reason in reasons.items():
        session.execute(sa.update(table).where(table.c.id == row_id).values(error=f"gave up: {reason}"))
