"""Personal data is not kept forever: processed webhooks are deleted, finished orders blanked.

What the mirror holds of a customer (names, addresses, emails, phone numbers, remarks), which
feature needs it, and for how long (``inbox_retention_days``, default 14, is "the retention"):

* ``webhook_inbox.payload``: the whole webhook body (a shop order with its customer, or Picqer's
  order with its addresses). The worker needs it until the event is processed. A processed row is
  deleted the retention after it was processed; a row without ``processed_at`` (waiting, or failing
  and retried by the queue) is kept whatever its age. A row given up on (a dead letter) gets its
  ``processed_at`` when it is given up: ``failures retry`` never reads it (it pushes the mapped
  order stored on the order row, or fetches the order from the shop again), so it too is deleted
  the retention after, which leaves a person that long to look at it. The row also stops
  duplicates; a sender retrying after its row is gone (Shopify stops after 48 hours) is processed
  again, which is harmless: a push and a Picqer event are idempotent against the mirror.
* ``orders.mapped_json``: the mapped shop order (its draft holds the addresses). Needed while the
  order may still be pushed: a retry (``failures retry``, or a push that resumes) sends it without
  a fetch from the shop.
* ``orders.pushed_draft``: the draft Picqer holds. Needed while Picqer takes changes: the address
  compare sends only what the shop changed (``worker/sync/changes.py``), and an adoption checks the
  customer's email (``worker/sync/adopt.py``).
* ``shipments.trackingcode`` and ``trackingurl`` (a carrier's tracking link carries the postcode):
  needed until the shop has been told of the fulfilment.

Nothing is dropped from the schema: each of these serves a feature while the order is open. Once
an order is finished (completed with its fulfilment reported, cancelled, or skipped before any
push; see ``worker/db/orders.py``) and untouched for the retention, the pruning pass blanks all
four of its kind: both drafts and its shipments' tracking. What stays is what the exactly-once rule
and ``status`` need, and none of it names a person: source, shop order id and number, reference,
Picqer ids and statuses, timestamps, order lines (SKU, amount, product name, price), picklists, and
``pushed_draft_hash`` (a SHA-256 digest, so a repeat of the same shop order is still recognised as
unchanged). Should a blanked order come back (a shop re-sends it), the push stores it again and it
is blanked again once it has been quiet for the retention; a retry without a stored mapped order
fetches it from the shop. Logs never held an address (``worker/logging.py``), and
``picqer_index`` holds ids, references and statuses only.

The pass works in bounded batches, each its own short transaction, so it never holds a long lock
(PostgreSQL) or the write lock (SQLite) for long, and at most ``max_batches`` of each kind per run
(the rest is taken by the next run). It writes one log line per run, with the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from worker.config import Settings
from worker.db import inbox as inbox_repo
from worker.db import orders
from worker.db.models import utcnow
from worker.db.session import session_scope
from worker.logging import get_logger

log = get_logger(__name__)

BATCH_SIZE = 500  # rows per transaction: milliseconds of locking, even on a busy PostgreSQL
MAX_BATCHES = 100  # per kind per run: at most 50,000 rows, so one run never blocks the scheduler long


@dataclass(frozen=True)
class PruneResult:
    inbox_deleted: int
    orders_blanked: int
    complete: bool  # False: the batch bound was reached, and the next run goes on


def retention_cutoff(settings: Settings, *, now: datetime | None = None) -> datetime:
    """What was processed or finished before this is past the retention."""
    return (now or utcnow()) - timedelta(days=settings.inbox_retention_days)


def prune_expired(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES,
) -> PruneResult:
    """Delete inbox rows processed longer ago than the retention, and blank the personal data of
    orders finished (and untouched) longer ago; ``now`` is settable for tests."""
    cutoff = retention_cutoff(settings, now=now)
    deleted, inbox_complete = _delete_processed(engine, cutoff, batch_size, max_batches)
    blanked, orders_complete = _blank_finished(engine, cutoff, batch_size, max_batches)
    result = PruneResult(
        inbox_deleted=deleted, orders_blanked=blanked, complete=inbox_complete and orders_complete
    )
    log.info(
        "personal_data_pruned",
        inbox_deleted=deleted,
        orders_blanked=blanked,
        retention_days=settings.inbox_retention_days,
        complete=result.complete,
    )
    return result


def _delete_processed(
    engine: Engine, cutoff: datetime, batch_size: int, max_batches: int
) -> tuple[int, bool]:
    total = 0
    for _ in range(max_batches):
        with session_scope(engine) as session:
            deleted = inbox_repo.delete_processed_before(session, processed_before=cutoff, limit=batch_size)
        total += deleted
        if deleted < batch_size:
            return total, True
    return total, False


def _blank_finished(engine: Engine, cutoff: datetime, batch_size: int, max_batches: int) -> tuple[int, bool]:
    total, after_id = 0, 0
    for _ in range(max_batches):
        with session_scope(engine) as session:
            order_ids = orders.list_finished_with_personal_data(
                session, finished_before=cutoff, after_id=after_id, limit=batch_size
            )
            total += orders.blank_personal_data(session, order_ids=order_ids, finished_before=cutoff)
        if len(order_ids) < batch_size:
            return total, True
        after_id = order_ids[-1]  # onwards by id: a row kept (touched meanwhile) is not read again
    return total, False


@dataclass(frozen=True)
class InboxRetention:
    """What ``status`` and the status page show of the retention."""

    retention_days: int
    kept: int  # rows in the inbox, processed or not
    oldest_received_at: datetime | None
    oldest_age_seconds: float | None
    oldest_waiting: bool  # the oldest row is not processed yet: no retention applies to it

    def as_json(self) -> dict[str, object]:
        return {
            "retention_days": self.retention_days,
            "kept": self.kept,
            "oldest_received_at": self.oldest_received_at.isoformat() if self.oldest_received_at else None,
            "oldest_age_seconds": self.oldest_age_seconds,
            "oldest_waiting": self.oldest_waiting,
        }

    def describe(self) -> str:
        rule = f"processed webhooks are deleted {self.retention_days} days after processing"
        if self.oldest_received_at is None or self.oldest_age_seconds is None:
            return f"Inbox: empty; {rule}."
        state = "still waiting" if self.oldest_waiting else "processed"
        received = self.oldest_received_at.strftime("%Y-%m-%d %H:%M:%S")
        return (
            f"Inbox: {self.kept} webhook(s) kept, the oldest received {received} UTC "
            f"({format_age(self.oldest_age_seconds)} ago, {state}); {rule}."
        )


def inbox_retention(engine: Engine, settings: Settings, *, now: datetime | None = None) -> InboxRetention:
    now = now or utcnow()
    with session_scope(engine) as session:
        kept, oldest, waiting = inbox_repo.oldest_kept(session)
    return InboxRetention(
        retention_days=settings.inbox_retention_days,
        kept=kept,
        oldest_received_at=oldest,
        oldest_age_seconds=max(0.0, (now - oldest).total_seconds()) if oldest is not None else None,
        oldest_waiting=waiting,
    )


def format_age(seconds: float) -> str:
    """``2d 03h``, ``5h 07m`` or ``12m``: an age a person reads at a glance."""
    minutes = int(seconds) // 60
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"
