"""A stored Picqer hook event, applied once to the mirror (see ``apply_picqer_event``)."""

from __future__ import annotations

from adapters.picqer.webhooks import parse_event
from worker.errors import WebhookRejected
from worker.sync import inbox
from worker.sync.context import SyncContext
from worker.sync.events import apply_picqer_event
from worker.sync.outcomes import EventOutcome
from worker.sync.reasons import failure_reason


def process_picqer_event(ctx: SyncContext, inbox_id: int) -> EventOutcome | None:
    """Apply the stored Picqer event ``inbox_id``; None when it is gone, applied already or corrupt.

    The outcome says whether the order was newly completed: then its fulfilment is to be reported.
    A failed attempt is counted on the row, with its reason, and the error raised for a retry.
    """
    row = inbox.load_unprocessed(ctx.engine, inbox_id)
    if row is None:
        return None
    try:
        event = parse_event(row.payload.encode("utf-8"))
    except WebhookRejected as error:  # verified at the door; only a corrupted row gets here
        inbox.abandon(ctx.engine, inbox_id=inbox_id, reason=error.reason)
        return None
    try:
        outcome = apply_picqer_event(ctx, event)
    except Exception as error:
        inbox.record_attempt(ctx.engine, inbox_id=inbox_id, error=failure_reason(error))
        raise
    inbox.mark_processed(ctx.engine, inbox_id=inbox_id)
    return outcome
