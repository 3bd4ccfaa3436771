"""Find the Picqer order an earlier, unfinished create (or anyone else) made, and link it to its row.

Picqer has no idempotency key on ``POST /orders`` (facts sheet §8.1): after a create whose outcome
is unknown, and before a first create the Picqer index cannot vouch for
(``worker/sync/picqer_index.py``), the order is looked up by ``reference``.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from adapters.picqer.models import PicqerOrder
from adapters.picqer.status import UNPROCESSED_STATUSES, PicqerStatus
from worker.db.models import Order, SyncState, SyncStep
from worker.db.session import session_scope
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.picqer_index import note_seen
from worker.sync.record import record

log = get_logger(__name__)


def _evidently_other(candidate: PicqerOrder, sent: dict[str, Any] | None) -> bool:
    """True when ``candidate`` cannot be what we sent: other products, or another customer's email.

    Two shops (or a shop and Picqer's own connector) can use the same order number; a reference
    alone must not make us adopt someone else's order.
    """
    if not sent:
        return False
    sent_lines = sorted(
        (str(line.get("productcode", "")).casefold(), int(line.get("amount") or 0))
        for line in sent.get("products") or []
        if isinstance(line, dict)
    )
    found_lines = sorted(
        (str(product.productcode or "").casefold(), int(product.amount or 0))
        for product in candidate.products
    )
    if sent_lines and found_lines and sent_lines != found_lines:
        return True
    sent_email = str(sent.get("emailaddress") or "").strip().casefold()
    found_email = str(candidate.emailaddress or "").strip().casefold()
    return bool(sent_email and found_email and sent_email != found_email)


def pick_candidate(
    ctx: SyncContext,
    candidates: list[PicqerOrder],
    *,
    order: Order,
    expected: dict[str, Any] | None = None,
) -> PicqerOrder | None:
    """The live order among ``candidates`` that no other mirror row owns (oldest first) and that
    matches what we sent (or, before a first create, the ``expected`` draft), when we know it."""
    sent = expected if expected is not None else order.pushed_draft
    live = sorted(
        (c for c in candidates if c.status != PicqerStatus.CANCELLED and not _evidently_other(c, sent)),
        key=lambda c: c.idorder,
    )
    if not live:
        return None
    with session_scope(ctx.engine) as session:
        taken = set(
            session.exec(
                select(Order.idorder).where(
                    col(Order.idorder).in_([c.idorder for c in live]), Order.id != order.id
                )
            ).all()
        )
    free = [candidate for candidate in live if candidate.idorder not in taken]
    if len(free) > 1:
        log.warning(
            "picqer_duplicate_orders",
            source=order.source,
            reference=order.reference,
            idorders=[candidate.idorder for candidate in free],
        )
    return free[0] if free else None


def adopt(
    ctx: SyncContext,
    order: Order,
    picqer: PicqerOrder,
    *,
    pushed_draft: dict[str, object] | None,
    pushed_draft_hash: str | None = None,
) -> Order:
    """Link ``picqer`` to the row; the step follows Picqer's status (concept: tags and process remain)."""
    processed = picqer.status is not None and picqer.status not in UNPROCESSED_STATUSES
    fields: dict[str, object] = {
        "idorder": picqer.idorder,
        "orderid": picqer.orderid,
        "sync_step": SyncStep.PROCESSED if processed else SyncStep.CREATED,
        "picqer_status": picqer.status,
        "picqer_updated": picqer.updated,
    }
    if processed:
        fields.update(sync_state=SyncState.SYNCED, last_error=None, failed_step=None)
    if pushed_draft is not None:
        fields["pushed_draft"] = pushed_draft
    if pushed_draft_hash is not None:
        fields["pushed_draft_hash"] = pushed_draft_hash
    adopted = record(ctx, order, **fields)
    log.info(
        "order_adopted",
        source=order.source,
        reference=order.reference,
        idorder=picqer.idorder,
        status=picqer.status,
    )
    return adopted


def adopt_by_reference(
    ctx: SyncContext,
    order: Order,
    *,
    pushed_draft: dict[str, object] | None,
    expected: dict[str, Any] | None = None,
    pushed_draft_hash: str | None = None,
) -> Order | None:
    """Look the order up in Picqer by reference; link and return the row when found.

    ``expected``: before a first create, the draft we would send (what a candidate must match).
    """
    candidates = ctx.picqer.find_orders_by_reference(order.reference)
    with session_scope(ctx.engine) as session:
        note_seen(session, candidates)
    found = pick_candidate(ctx, candidates, order=order, expected=expected)
    if found is None:
        return None
    return adopt(ctx, order, found, pushed_draft=pushed_draft, pushed_draft_hash=pushed_draft_hash)
