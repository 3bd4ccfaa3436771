"""Store a group of verified webhooks with one commit, then enqueue each; one answer per webhook.

A 202 still follows its own durable commit: the group's (SQLite ``synchronous=FULL``, a committed
PostgreSQL transaction). A duplicate (source, event key) is a 202 and is not enqueued again. When
the database is away the group goes to the spool (split deployments) or is answered 503. A value
the database cannot hold fails the group's statement, so the group is then stored one by one:
only the webhook that holds it is the sender's 400.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError, SQLAlchemyError

from worker import metrics
from worker.db import inbox as inbox_repo
from worker.db.models import utcnow
from worker.db.session import make_commits_durable
from worker.logging import get_logger
from worker.receiver.answers import (
    ACCEPTED,
    DATABASE_UNAVAILABLE,
    DUPLICATE,
    QUEUE_UNAVAILABLE,
    Answer,
    reject,
    spool_event,
)
from worker.sync.inbox import EVENT_KEY_CHARS, TOPIC_CHARS, Enqueue, fit_column, note_not_enqueued
from worker.sync.spool import SpooledEvent, WebhookSpool, database_unavailable

log = get_logger(__name__)

Key = tuple[str, str]  # (source, event_key)
#: ``enqueue_many([(inbox_source, inbox_id), ...])``: hand a group of stored events to the queue at
#: once (one Redis round trip); raises when the queue did not take them all
EnqueueMany = Callable[[Sequence[tuple[str, int]]], None]


@dataclass(frozen=True)
class Pending:
    """A verified webhook on its way to the inbox (key and topic fitted to their columns)."""

    target: str  # the metric and log label: "picqer" or the source's name
    row: inbox_repo.NewInboxRow

    @classmethod
    def of(cls, target: str, *, source: str, event_key: str, topic: str, payload: str) -> Pending:
        row = inbox_repo.NewInboxRow(
            source=source,
            event_key=fit_column(event_key, EVENT_KEY_CHARS),
            topic=fit_column(topic, TOPIC_CHARS),
            payload=payload,
            received_at=utcnow(),
        )
        return cls(target=target, row=row)

    @property
    def key(self) -> Key:
        return (self.row.source, self.row.event_key)

    def spooled(self) -> SpooledEvent:
        row = self.row
        return SpooledEvent(
            source=row.source,
            event_key=row.event_key,
            topic=row.topic,
            payload=row.payload,
            received_at=row.received_at,
        )


def store_batch(
    events: Sequence[Pending],
    *,
    engine: Engine,
    enqueue: Enqueue,
    spool: WebhookSpool | None = None,
    enqueue_many: EnqueueMany | None = None,
) -> list[Answer]:
    """Commit ``events`` to the inbox in one transaction, enqueue the new ones; their answers, in order.

    With ``enqueue_many`` the new ones go to the queue in one call (when it fails, each of them is
    noted as not enqueued and answered 503); else one ``enqueue`` each.
    """
    try:
        inserted, existing = _commit(engine, events)
    except (SQLAlchemyError, UnicodeEncodeError) as error:
        if len(events) > 1 and not database_unavailable(error):
            # one bad value spoils the statement for all: find it, and store the rest
            return [
                store_batch([event], engine=engine, enqueue=enqueue, spool=spool, enqueue_many=enqueue_many)[
                    0
                ]
                for event in events
            ]
        return [_not_stored(event, error, engine=engine, spool=spool) for event in events]
    new: dict[int, int] = {}  # position in ``events`` -> inbox id, the first of each key only
    seen: set[Key] = set()
    for position, event in enumerate(events):
        inbox_id = inserted.get(event.key)
        if inbox_id is not None and event.key not in seen:
            new[position] = inbox_id
        seen.add(event.key)
    group_error = (
        None if enqueue_many is None else _enqueue_all(events, new, engine=engine, enqueue_many=enqueue_many)
    )
    answers: list[Answer] = []
    for position, event in enumerate(events):
        inbox_id = new.get(position)
        if inbox_id is None:
            answers.append(_duplicate(event, existing.get(event.key, inserted.get(event.key))))
        elif enqueue_many is None:
            answers.append(_enqueue(event, inbox_id, enqueue))
        else:
            answers.append(_enqueued(event, inbox_id, group_error))
    return answers


def _commit(engine: Engine, events: Sequence[Pending]) -> tuple[dict[Key, int], dict[Key, int]]:
    """The ids of the rows inserted, and of those stored before (duplicates), by key.

    The writer's engine does not ping a pooled connection before each group (a round trip per
    group): a connection the database has dropped since (a restart) fails at once and is replaced,
    and the group is written again on a fresh one. Nothing was committed on the dropped one.
    """
    try:
        return _commit_once(engine, events)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        log.info("inbox_connection_replaced", error_type=type(error.orig).__name__)
        return _commit_once(engine, events)


def _commit_once(engine: Engine, events: Sequence[Pending]) -> tuple[dict[Key, int], dict[Key, int]]:
    with engine.connect() as connection:
        make_commits_durable(connection)
        with connection.begin():
            inserted = inbox_repo.insert_inbox_rows(connection, [event.row for event in events])
            missing = list({event.key for event in events if event.key not in inserted})
            existing = inbox_repo.find_inbox_ids(connection, missing)
    return inserted, existing


def _duplicate(event: Pending, inbox_id: int | None) -> Answer:
    # already stored; its processing was enqueued then (or the sweeper will)
    log.info("webhook_duplicate", target=event.target, topic=event.row.topic, inbox_id=inbox_id)
    metrics.WEBHOOKS.labels(event.target, "duplicate").inc()
    return DUPLICATE


def _enqueue(event: Pending, inbox_id: int, enqueue: Enqueue) -> Answer:
    try:
        enqueue(event.row.source, inbox_id)
    except Exception as error:
        return _enqueued(event, inbox_id, error)
    return _enqueued(event, inbox_id, None)


def _enqueue_all(
    events: Sequence[Pending], new: dict[int, int], *, engine: Engine, enqueue_many: EnqueueMany
) -> Exception | None:
    """Enqueue every new row at once; the error when the queue did not take them (each row then
    noted, so the scheduler's ``inbox-requeue`` sends it as soon as the queue is back)."""
    if not new:
        return None
    try:
        enqueue_many([(events[position].row.source, inbox_id) for position, inbox_id in new.items()])
    except Exception as error:
        for inbox_id in new.values():
            note_not_enqueued(engine, inbox_id=inbox_id, error=error)
        return error
    return None


def _enqueued(event: Pending, inbox_id: int, error: Exception | None) -> Answer:
    if error is not None:
        # stored but not enqueued: the sender's retry is answered 202 (duplicate) and the sweeper
        # enqueues it; 503 now says "not done yet"
        log.error(
            "webhook_enqueue_failed", target=event.target, inbox_id=inbox_id, error_type=type(error).__name__
        )
        metrics.WEBHOOKS.labels(event.target, "unavailable").inc()
        return QUEUE_UNAVAILABLE
    log.info("webhook_accepted", target=event.target, topic=event.row.topic, inbox_id=inbox_id)
    metrics.WEBHOOKS.labels(event.target, "accepted").inc()
    return ACCEPTED


def _not_stored(
    event: Pending, error: BaseException, *, engine: Engine, spool: WebhookSpool | None
) -> Answer:
    if isinstance(error, (DataError, UnicodeEncodeError)):
        # a value the database cannot hold: the same body fails on every retry, so it is the
        # sender's 400, never a 503 to retry
        reason = f"the webhook holds a value the database cannot store ({type(error).__name__})"
        try:
            return reject(event.target, 400, reason, engine=engine)
        except SQLAlchemyError:
            return reject(event.target, 400, reason)
    if spool is not None and database_unavailable(error):
        return spool_event(event.target, event.spooled(), spool=spool, cause=type(error).__name__)
    log.error("webhook_store_failed", target=event.target, error_type=type(error).__name__)
    metrics.WEBHOOKS.labels(event.target, "unavailable").inc()
    return DATABASE_UNAVAILABLE
