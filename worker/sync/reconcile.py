"""Picqer is the truth for order status: pull open and recently changed orders into the mirror.

Hooks are hints (PRODUCT.md, behaviour 6): a scheduled reconcile repairs whatever a lost or
deactivated hook missed, and adopts Picqer orders whose create we never saw answered (a row with
that reference and no idorder). It also keeps the Picqer index fresh (``worker/sync/picqer_index.py``):
it refreshes it first (building it when the mirror has none) and records every order it reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from adapters.picqer.models import PicqerOrder
from adapters.picqer.status import OPEN_STATUSES, PicqerStatus
from worker.db import cursors, orders
from worker.db.models import Order, SyncStep
from worker.db.session import session_scope
from worker.infra.locks import OrderLocked
from worker.logging import get_logger
from worker.sync.adopt import adopt, pick_candidate
from worker.sync.context import SyncContext
from worker.sync.picqer_index import note_seen, refresh_index, retried_pages
from worker.sync.status import apply_order_state

log = get_logger(__name__)

# the cursor is Picqer's own largest ``updated`` seen (Picqer local time, like ``sincedate``);
# reading back a little before it covers changes stamped in the same second we last read
CURSOR_OVERLAP = timedelta(minutes=10)
# before the first cursor: how far back to read changed orders, so an order that completed before
# reconcile ever ran (while its hooks were lost) is still found; a few hours of zone offset between
# Picqer's local time and our UTC clock do not matter at this scale
FIRST_RUN_LOOKBACK = timedelta(days=7)


@dataclass
class ReconcileSummary:
    since: datetime | None = None
    seen: int = 0  # Picqer orders read
    updated: int = 0  # mirror rows moved forward
    adopted: int = 0  # rows linked to a Picqer order found by reference
    unknown: int = 0  # Picqer orders that are not ours
    newly_completed: list[int] = field(default_factory=list)  # mirror ids: report fulfilment
    to_resume: list[int] = field(default_factory=list)  # mirror ids: run `retry_order` to finish the push
    # mirror ids whose adoption was skipped: the order was locked (a push running, or a dead
    # worker's lease not yet expired); the next run picks them up
    skipped_locked: list[int] = field(default_factory=list)


def reconcile(ctx: SyncContext, since: datetime | None = None) -> ReconcileSummary:
    """Repair the mirror from Picqer: open orders always, and orders changed since ``since``.

    ``since`` is in Picqer's time (naive, account local); when None, the stored cursor is used, or
    the last ``FIRST_RUN_LOOKBACK`` before there is one.
    """
    if since is None:
        with session_scope(ctx.engine) as session:
            cursor = cursors.get_cursor(session, source=cursors.PICQER_CURSOR)
            since = (
                cursor.position - CURSOR_OVERLAP
                if cursor and cursor.position
                else ctx.clock() - FIRST_RUN_LOOKBACK
            )
    summary = ReconcileSummary(since=since)
    refresh_index(ctx)
    newest: datetime | None = None
    held_back: datetime | None = None  # the oldest ``updated`` of an order skipped as locked
    for picqer in _orders(ctx, since):
        summary.seen += 1
        if picqer.updated is not None and (newest is None or picqer.updated > newest):
            newest = picqer.updated
        skipped = len(summary.skipped_locked)
        _reconcile_one(ctx, picqer, summary)
        if len(summary.skipped_locked) > skipped and picqer.updated is not None:
            held_back = picqer.updated if held_back is None else min(held_back, picqer.updated)
    if held_back is not None and newest is not None:
        newest = min(newest, held_back)  # the next run reads the skipped order again
    with session_scope(ctx.engine) as session:
        cursors.set_cursor(session, source=cursors.PICQER_CURSOR, position=newest, ran_at=ctx.clock())
    log.info(
        "reconcile_finished",
        seen=summary.seen,
        updated=summary.updated,
        adopted=summary.adopted,
        unknown=summary.unknown,
        newly_completed=len(summary.newly_completed),
        skipped_locked=len(summary.skipped_locked),
    )
    return summary


def _orders(ctx: SyncContext, since: datetime | None) -> Iterator[PicqerOrder]:
    """Open orders, then recently changed ones; each order once."""
    seen: set[int] = set()
    streams = [_listing(ctx, status=status) for status in OPEN_STATUSES]
    if since is not None:
        streams.append(_listing(ctx, sincedate=since))
    for stream in streams:
        for picqer in stream:
            if picqer.idorder not in seen:
                seen.add(picqer.idorder)
                yield picqer


def _listing(ctx: SyncContext, **filters: Any) -> Iterator[PicqerOrder]:
    for page in retried_pages(ctx, **filters):
        yield from page


def _reconcile_one(ctx: SyncContext, picqer: PicqerOrder, summary: ReconcileSummary) -> None:
    with session_scope(ctx.engine) as session:
        note_seen(session, [picqer])
        order = orders.get_order_by_idorder(session, idorder=picqer.idorder)
        candidates = (
            orders.find_unlinked_by_reference(session, reference=picqer.reference)
            if order is None and picqer.reference
            else []
        )
    if order is None and len(candidates) == 1 and picqer.status != PicqerStatus.CANCELLED:
        order = _adopt(ctx, candidates[0], picqer, summary)
        if order is None and candidates[0].id in summary.skipped_locked:
            return  # ours, but locked: counted as skipped, not as unknown
    if order is None:
        summary.unknown += 1
        return
    with session_scope(ctx.engine) as session:
        change = apply_order_state(session, order, picqer)
    if change.changed:
        summary.updated += 1
        if change.newly_completed and order.id is not None:
            summary.newly_completed.append(order.id)


def _adopt(
    ctx: SyncContext, candidate: Order, picqer: PicqerOrder, summary: ReconcileSummary
) -> Order | None:
    # the push of this order may be running: adopt under its lock, after a fresh look; a lock
    # still held (a push running, a killed worker's lease not yet expired) skips the order for
    # this run instead of failing the whole run
    try:
        with ctx.order_lock(candidate.source, candidate.shop_order_id):
            with session_scope(ctx.engine) as session:
                fresh = orders.get_order_by_id(session, order_id=candidate.id) if candidate.id else None
            if (
                fresh is None
                or fresh.idorder is not None
                or pick_candidate(ctx, [picqer], order=fresh) is None
            ):
                return None
            adopted = adopt(ctx, fresh, picqer, pushed_draft=None)
    except OrderLocked:
        log.warning(
            "reconcile_skipped_locked_order",
            order_id=candidate.id,
            source=candidate.source,
            shop_order_id=candidate.shop_order_id,
            idorder=picqer.idorder,
            reason="the order is locked by another worker; the next reconcile adopts it",
        )
        if candidate.id is not None:
            summary.skipped_locked.append(candidate.id)
        return None
    summary.adopted += 1
    if adopted.sync_step == SyncStep.CREATED and adopted.id is not None:
        summary.to_resume.append(adopted.id)  # a concept order: tags and process still to do
    return adopted
