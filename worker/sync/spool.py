"""The webhook spool: where a verified webhook waits when the database is down and Redis is not.

PRODUCT.md (behaviour 9) answers 202 only once a webhook is stored durably, "database inbox or
Redis". In a split deployment the receiver therefore spools a verified event in Redis when the
inbox write fails because the database is unavailable, and answers 202 instead of a 503 that
would leave the order waiting for the sender's next retry (minutes). :func:`drain_spool` moves
spooled events into the inbox as soon as the database answers again, with the same dedup key a
direct store uses, then enqueues them as a direct store does, then deletes the spool entry. A
crash between two steps moves the entry again: the inbox sees a duplicate, so it stays one event.

The spool itself is a port (:class:`WebhookSpool`); ``worker/infra/spool.py`` implements it on
Redis. The drain runs in a thread of each web process (:class:`SpoolDrainer`, every
``DRAIN_INTERVAL_SECONDS``) and from the scheduler's inbox jobs; a lock in the spool keeps two
drains from moving the same entries at once.
"""

from __future__ import annotations

import json
import threading
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from worker import metrics
from worker.db.models import utcnow
from worker.logging import get_logger
from worker.sync.inbox import (
    EVENT_KEY_CHARS,
    TOPIC_CHARS,
    Enqueue,
    fit_column,
    note_not_enqueued,
    store_event,
)

log = get_logger(__name__)

DRAIN_INTERVAL_SECONDS = 2.0  # a web process looks at the spool this often
DRAIN_BATCH = 100  # entries read from the spool at a time

#: the errors that say "the database is not answering now" (refused, pool or statement timeout,
#: a dropped connection), as opposed to "it will never take this" (a DataError, say)
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
    sa.exc.DisconnectionError,
)


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database is away for now (worth spooling and retrying)."""
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, DATABASE_UNAVAILABLE)


@dataclass(frozen=True)
class SpooledEvent:
    """A verified webhook as the inbox will store it (``event_key`` and ``topic`` already fitted)."""

    source: str
    event_key: str
    topic: str
    payload: str
    received_at: datetime

    @classmethod
    def of(cls, *, source: str, event_key: str, topic: str, payload: str) -> SpooledEvent:
        return cls(
            source=source,
            event_key=fit_column(event_key, EVENT_KEY_CHARS),
            topic=fit_column(topic, TOPIC_CHARS),
            payload=payload,
            received_at=utcnow(),
        )

    def to_json(self) -> str:
        return json.dumps(
            {**asdict(self), "received_at": self.received_at.isoformat()}, separators=(",", ":")
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> SpooledEvent:
        data = json.loads(text)
        return cls(
            source=str(data["source"]),
            event_key=str(data["event_key"]),
            topic=str(data["topic"]),
            payload=str(data["payload"]),
            received_at=datetime.fromisoformat(data["received_at"]),
        )


class WebhookSpool(Protocol):
    """Where verified webhooks wait for the database (``worker.infra.spool.RedisWebhookSpool``)."""

    def put(self, event: SpooledEvent) -> bool:
        """Keep ``event`` (durably once this returns); False when the same (source, event key)
        is spooled already (a sender's retry), which is kept as it was."""
        ...

    def peek(self, limit: int) -> list[tuple[str, SpooledEvent | None]]:
        """The oldest ``limit`` entries as (entry id, event); None for an entry that cannot be read."""
        ...

    def remove(self, entry_id: str) -> None: ...

    def size(self) -> int: ...

    def drain_lock(self) -> AbstractContextManager[DrainLock | None]:
        """The right to drain: a held lock, or None when another process is draining."""
        ...


class DrainLock(Protocol):
    def renew(self) -> None:
        """Keep holding the lock for another full term (called after each entry)."""
        ...


@dataclass(frozen=True)
class Moved:
    inbox_id: int
    enqueue: bool  # new, or stored before but not processed yet (a crash may have lost its message)


def move_to_inbox(engine: Engine, event: SpooledEvent) -> Moved:
    """Store ``event`` in the inbox under the key a direct store uses, keeping its received time."""
    stored = store_event(
        engine,
        source=event.source,
        event_key=event.event_key,
        topic=event.topic,
        payload=event.payload,
        received_at=event.received_at,
    )
    # enqueuing an unprocessed row twice is harmless (processing checks processed_at first);
    # not enqueuing it may leave it to the sweeper's grace, minutes later
    return Moved(inbox_id=stored.inbox_id, enqueue=not stored.processed)


def drain_spool(spool: WebhookSpool, *, engine: Engine, enqueue: Enqueue, batch: int = DRAIN_BATCH) -> int:
    """Move every spooled webhook into the inbox and enqueue it; returns how many were moved.

    Stops at the first sign that the database is still away (the entries wait for the next
    drain); returns 0 at once when another process holds the drain lock. An entry the database
    can never take (or that cannot be read) is dropped with a log line: kept, it would block
    nothing but be retried for ever.
    """
    with spool.drain_lock() as lock:
        if lock is None:
            return 0
        moved = 0
        try:
            while entries := spool.peek(batch):
                for entry_id, event in entries:
                    if event is None:
                        log.error("webhook_spool_entry_dropped", entry=entry_id, reason="unreadable")
                        spool.remove(entry_id)
                        continue
                    try:
                        result = move_to_inbox(engine, event)
                    except Exception as error:
                        if database_unavailable(error):
                            log.info("webhook_spool_waiting", error_type=type(error).__name__, moved=moved)
                            return moved
                        if not isinstance(error, sa.exc.SQLAlchemyError | UnicodeEncodeError):
                            raise
                        log.error(
                            "webhook_spool_entry_dropped",
                            source=event.source,
                            topic=event.topic,
                            reason="the database cannot store it",
                            error_type=type(error).__name__,
                        )
                        spool.remove(entry_id)
                        continue
                    if result.enqueue:
                        _enqueue(engine, enqueue, event, result.inbox_id)
                    spool.remove(entry_id)
                    metrics.WEBHOOKS.labels(event.source, "unspooled").inc()
                    moved += 1
                    lock.renew()  # a drain that dies frees the spool within one lock term
                if len(entries) < batch:
                    break
        finally:
            if moved:
                log.info("webhook_spool_drained", moved=moved)
        return moved


def _enqueue(engine: Engine, enqueue: Enqueue, event: SpooledEvent, inbox_id: int) -> None:
    try:
        enqueue(event.source, inbox_id)
    except Exception as error:
        # stored: the scheduler's inbox-requeue sends it within seconds of the queue's return
        log.warning(
            "webhook_spool_enqueue_failed",
            source=event.source,
            inbox_id=inbox_id,
            error_type=type(error).__name__,
        )
        note_not_enqueued(engine, inbox_id=inbox_id, error=error)


class SpoolDrainer:
    """Drains the spool every ``interval`` seconds while it holds anything (a web process's thread)."""

    def __init__(
        self,
        spool: WebhookSpool,
        *,
        engine: Engine,
        enqueue: Enqueue,
        interval: float = DRAIN_INTERVAL_SECONDS,
    ) -> None:
        self.spool = spool
        self.engine = engine
        self.enqueue = enqueue
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def tick(self) -> int:
        """One look: drain when the spool holds anything; never raises (Redis may be away too)."""
        try:
            moved = (
                drain_spool(self.spool, engine=self.engine, enqueue=self.enqueue) if self.spool.size() else 0
            )
        except Exception as error:
            if not self._failing:  # one line per outage, not one every interval
                log.warning("webhook_spool_unreachable", error_type=type(error).__name__)
            self._failing = True
            return 0
        if self._failing:
            log.info("webhook_spool_reachable")
        self._failing = False
        return moved

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="webhook-spool-drain", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
