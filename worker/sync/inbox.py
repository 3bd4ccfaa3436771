"""The webhook inbox around the mirror's ``webhook_inbox`` table: store once, enqueue, sweep.

A webhook is stored before it is answered 202 and enqueued after; the queue message carries only
the row id. A message can still be lost (the in-process queue of ``run`` dies with its process, an
enqueue fails after the store), so the sweeper re-enqueues rows left unprocessed after a grace
period. Processing checks ``processed_at`` first, so a row enqueued twice is applied once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from adapters.platform import ShopWebhook
from adapters.types import PICQER
from worker import metrics
from worker.db import inbox as inbox_repo
from worker.db.models import InboxEvent, utcnow
from worker.db.session import session_scope
from worker.logging import get_logger

log = get_logger(__name__)

#: the inbox ``source`` of Picqer's own hooks; shop events use the source's name
PICQER_INBOX_SOURCE = PICQER
DEFAULT_GRACE_SECONDS = 120.0
SWEEP_BATCH = 1000
EVENT_KEY_CHARS = 255  # webhook_inbox.event_key
TOPIC_CHARS = 100  # webhook_inbox.topic
MAX_SWEEP_BACKOFF_STEPS = 8  # a row is swept again after grace * 2**n, n at most this
#: ``webhook_inbox.error`` of a row stored but never enqueued (the receiver answered 503): such a
#: row is not waiting in any queue, so it is enqueued as soon as the queue takes messages again
NOT_ENQUEUED = "not enqueued"

#: ``enqueue(inbox_source, inbox_id)``: hand a stored event to the queue
Enqueue = Callable[[str, int], None]


@dataclass(frozen=True)
class StoredEvent:
    inbox_id: int
    duplicate: bool  # the same event (source, event key) was stored before
    processed: bool = False  # (a duplicate) and that earlier one is done


def store_event(
    engine: Engine,
    *,
    source: str,
    event_key: str,
    topic: str,
    payload: str,
    received_at: datetime | None = None,
) -> StoredEvent:
    """Store a webhook durably (committed when this returns); a duplicate is stored once.

    ``received_at``: when the webhook came in, if earlier than now (one kept in the spool).
    """
    event_key = fit_column(event_key, EVENT_KEY_CHARS)
    topic = fit_column(topic, TOPIC_CHARS)
    with session_scope(engine) as session:
        stored = inbox_repo.store_inbox_event(
            session, source=source, event_key=event_key, topic=topic, payload=payload, received_at=received_at
        )
        if stored is not None:
            session.flush()
            assert stored.id is not None
            return StoredEvent(inbox_id=stored.id, duplicate=False)
        existing = _find(session, source=source, event_key=event_key)
        assert existing.id is not None
        return StoredEvent(inbox_id=existing.id, duplicate=True, processed=existing.processed_at is not None)


def fit_column(value: str, limit: int) -> str:
    """``value`` when it fits the column, else a stable digest of it (a key must stay unique)."""
    if len(value) <= limit:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def _find(session: Session, *, source: str, event_key: str) -> InboxEvent:
    return session.exec(
        select(InboxEvent).where(InboxEvent.source == source, InboxEvent.event_key == event_key)
    ).one()


# a JSON string as json.dumps writes one (ASCII, escaped), without building an encoder per call
_json_string: Callable[[str], str] = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def shop_event_payload(webhook: ShopWebhook) -> str:
    """What an inbox row keeps of a verified shop webhook: the parsed verdict, not the headers.

    The signature headers are needed only once, at the door; the worker needs the order (or its
    id) and the topic. Storing the parsed form keeps the worker platform-agnostic. The order's
    text as received is spliced in when the adapter kept it (encoding a parsed order again costs
    more than the rest of the receiver's check): the same JSON value either way.
    """
    if webhook.order_json is None:
        return json.dumps(
            {
                "topic": webhook.topic,
                "shop_order_id": webhook.shop_order_id,
                "deleted": webhook.deleted,
                "order": webhook.order,
            },
            separators=(",", ":"),
        )
    shop_order_id = "null" if webhook.shop_order_id is None else _json_string(webhook.shop_order_id)
    deleted = "true" if webhook.deleted else "false"
    return (
        f'{{"topic":{_json_string(webhook.topic)},"shop_order_id":{shop_order_id},'
        f'"deleted":{deleted},"order":{webhook.order_json}}}'
    )


@dataclass(frozen=True)
class ShopEvent:
    topic: str
    shop_order_id: str | None
    deleted: bool
    order: dict[str, Any] | None


def parse_shop_event_payload(payload: str) -> ShopEvent:
    body = json.loads(payload)
    order = body.get("order")
    shop_order_id = body.get("shop_order_id")
    return ShopEvent(
        topic=str(body.get("topic") or ""),
        shop_order_id=str(shop_order_id) if shop_order_id is not None else None,
        deleted=bool(body.get("deleted")),
        order=order if isinstance(order, dict) else None,
    )


@dataclass(frozen=True)
class StoredRow:
    """An inbox row still to be applied, read off in one session."""

    source: str
    payload: str
    received_at: datetime


def load_unprocessed(engine: Engine, inbox_id: int) -> StoredRow | None:
    """The row to apply; None when it is gone or was applied already (a duplicate message)."""
    with session_scope(engine) as session:
        row = session.get(InboxEvent, inbox_id)
        if row is None:
            log.warning("inbox_event_missing", inbox_id=inbox_id)
            return None
        if row.processed_at is not None:
            log.info("inbox_event_already_processed", inbox_id=inbox_id)
            return None
        return StoredRow(source=row.source, payload=row.payload, received_at=row.received_at)


def stored_source_and_payload(engine: Engine, inbox_id: int) -> tuple[str, str] | None:
    """Where a row came from and what it holds, processed or not; None when it is gone."""
    with session_scope(engine) as session:
        row = session.get(InboxEvent, inbox_id)
        return (row.source, row.payload) if row is not None else None


def record_attempt(engine: Engine, *, inbox_id: int, error: str) -> None:
    """Count a failed processing attempt, with its reason (never the payload)."""
    with session_scope(engine) as session:
        inbox_repo.mark_inbox_attempt(session, inbox_id=inbox_id, error=error)


def mark_processed(engine: Engine, *, inbox_id: int) -> None:
    with session_scope(engine) as session:
        inbox_repo.mark_inbox_processed(session, inbox_id=inbox_id)


def abandon(engine: Engine, *, inbox_id: int, reason: str) -> None:
    """Give up on an event whose retries are exhausted: done, with the reason kept for a person.

    It gets a ``processed_at`` so the sweeper leaves it alone; ``error`` says it was not applied.
    """
    with session_scope(engine) as session:
        event = session.get(InboxEvent, inbox_id)
        if event is not None:
            event.processed_at = utcnow()
            event.error = f"gave up: {reason}"
            session.add(event)


def note_not_enqueued(engine: Engine, *, inbox_id: int, error: BaseException) -> None:
    """Mark a stored row whose enqueue failed, so :meth:`InboxSweeper.requeue_not_enqueued`
    enqueues it within seconds of the queue's return instead of after the sweeper's grace.

    Best effort: when the mark cannot be written either, the ordinary sweep still finds the row.
    """
    try:
        with session_scope(engine) as session:
            inbox_repo.mark_not_enqueued(
                session, inbox_id=inbox_id, reason=f"{NOT_ENQUEUED}: {type(error).__name__}"
            )
    except Exception as mark_error:
        log.warning("inbox_not_enqueued_mark_failed", inbox_id=inbox_id, error_type=type(mark_error).__name__)


def enqueue_noting_failures(engine: Engine, enqueue: Enqueue) -> Enqueue:
    """``enqueue``, and a failure noted on the row (then raised again, for the receiver's 503)."""

    def wrapped(source: str, inbox_id: int) -> None:
        try:
            enqueue(source, inbox_id)
        except Exception as error:
            note_not_enqueued(engine, inbox_id=inbox_id, error=error)
            raise

    return wrapped


@dataclass
class InboxSweeper:
    """Re-enqueues events stored more than ``grace_seconds`` ago and still not processed.

    Remembers what it swept, and waits twice as long before sweeping the same row again, so a
    long backlog (rows waiting in the queue, not lost) is not multiplied sweep after sweep.
    """

    engine: Engine
    enqueue: Enqueue
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    _swept: dict[int, tuple[datetime, int]] = field(default_factory=dict, repr=False)

    def sweep(self, *, now: datetime | None = None, grace_seconds: float | None = None) -> int:
        """Enqueue the rows that look lost; returns how many were enqueued."""
        now = now or utcnow()
        grace = timedelta(seconds=self.grace_seconds if grace_seconds is None else grace_seconds)
        with session_scope(self.engine) as session:
            rows = [
                (row.id, row.source, row.attempts, row.received_at)
                for row in inbox_repo.list_unprocessed(
                    session, received_before=now - grace, limit=SWEEP_BATCH
                )
            ]
        pending = {row[0] for row in rows}
        self._swept = {key: value for key, value in self._swept.items() if key in pending}
        enqueued = 0
        for inbox_id, source, attempts, received_at in rows:
            assert inbox_id is not None
            # failed attempts mean the queue is retrying it with backoff: not lost, so wait longer
            last_swept, times = self._swept.get(inbox_id, (received_at, 0))
            steps = min(times + attempts, MAX_SWEEP_BACKOFF_STEPS)
            if now - last_swept < grace * (2**steps):
                continue
            self.enqueue(source, inbox_id)
            self._swept[inbox_id] = (now, times + 1)
            enqueued += 1
        if enqueued:
            metrics.INBOX_SWEPT.inc(enqueued)
            log.info("inbox_swept", enqueued=enqueued, pending=len(rows))
        return enqueued

    def requeue_not_enqueued(self) -> int:
        """Enqueue the rows whose first enqueue failed (the receiver answered 503), whatever their
        age; run every few seconds, so they move within seconds of the queue's return.

        A row's mark is cleared once it is enqueued; while the queue is still away the first
        failure ends the run (the rows keep their mark for the next one).
        """
        with session_scope(self.engine) as session:
            rows = [
                (row.id, row.source)
                for row in inbox_repo.list_not_enqueued(session, marker=NOT_ENQUEUED, limit=SWEEP_BATCH)
            ]
        enqueued = 0
        try:
            for inbox_id, source in rows:
                assert inbox_id is not None
                self.enqueue(source, inbox_id)
                with session_scope(self.engine) as session:
                    inbox_repo.clear_not_enqueued(session, inbox_id=inbox_id, marker=NOT_ENQUEUED)
                enqueued += 1
        finally:
            if enqueued:
                metrics.INBOX_SWEPT.inc(enqueued)
                log.info("inbox_requeued_not_enqueued", enqueued=enqueued, pending=len(rows))
        return enqueued
