"""Poll one shop: orders changed since the cursor, with an overlapping window, mapped and pushed.

Webhooks are hints, polling is the truth (PRODUCT.md, behaviour 6). The window starts
``poll_overlap_seconds`` before the cursor, so orders written late (or stamped by a shop clock a
little behind ours) are read again; pushing an order twice is a no-op. The cursor moves to the
time this run *started*, never past it, and only after the whole listing was read.

A first poll (no cursor yet) does not push the shop's whole past: it reads orders changed since
the source's ``start_at``, or ``DEFAULT_START_LOOKBACK`` before that first poll; the bound is
recorded with the cursor (``status`` shows it). ``resync --since`` reaches further back on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from adapters.platform import ShopPlatform
from adapters.source import OrderSource
from worker.config import SourceSettings
from worker.db import cursors
from worker.db.session import session_scope
from worker.errors import RateLimited, RetriableError
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.outcomes import PushKind, PushOutcome
from worker.sync.shop_orders import map_and_push

log = get_logger(__name__)

DEFAULT_START_LOOKBACK = timedelta(days=7)  # a source without ``start_at``: its first poll's reach


@dataclass
class PollSummary:
    source: str
    since: datetime | None
    seen: int = 0
    pushed: int = 0
    failed: int = 0
    deferred: int = 0  # hit a retriable error; handed to push_shop_order to retry on its own


def poll_source(
    ctx: SyncContext,
    source: SourceSettings,
    *,
    platform: ShopPlatform,
    open_source: Callable[[SourceSettings], OrderSource],
    defer_push: Callable[[str, str], None],
    on_outcome: Callable[[PushOutcome], None] | None = None,
) -> PollSummary:
    """One poll of ``source``; ``defer_push(source, shop_order_id)`` retries one order later.

    A 429 that the source could not wait out ends the poll (the actor comes back after the wait,
    the cursor unmoved); any other retriable error on one order defers just that order.
    """
    started = ctx.clock()
    with session_scope(ctx.engine) as session:
        cursor = cursors.get_cursor(session, source=source.name)
        position = cursor.position if cursor else None
        if position is not None:
            since: datetime | None = position - timedelta(seconds=source.poll_overlap_seconds)
        else:
            since = start_bound(session, source, now=started)
    summary = PollSummary(source=source.name, since=since)
    shop = open_source(source)
    try:
        for raw in shop.iter_orders(since):
            summary.seen += 1
            shop_order_id = str(raw.get(shop.primary_key))
            try:
                outcome = map_and_push(ctx, platform, source, raw, shop_order_id)
            except RateLimited:
                raise
            except RetriableError as error:
                log.warning(
                    "poll_push_deferred", source=source.name, shop_order_id=shop_order_id, reason=error.reason
                )
                defer_push(source.name, shop_order_id)
                summary.deferred += 1
                continue
            summary.pushed += outcome.kind is PushKind.PUSHED
            summary.failed += outcome.kind is PushKind.FAILED
            if on_outcome is not None:
                on_outcome(outcome)
    finally:
        shop.close()
    with session_scope(ctx.engine) as session:
        cursors.set_cursor(session, source=source.name, position=started, ran_at=ctx.clock())
    log.info(
        "poll_finished",
        source=source.name,
        since=since.isoformat() if since else None,
        seen=summary.seen,
        pushed=summary.pushed,
        failed=summary.failed,
        deferred=summary.deferred,
    )
    return summary


def start_bound(session: Session, source: SourceSettings, *, now: datetime, record: bool = True) -> datetime:
    """Where ``source``'s first poll starts: its ``start_at``, else the bound recorded by an earlier
    first poll, else ``DEFAULT_START_LOOKBACK`` before ``now``; recorded (unless ``record`` is false,
    as in a dry run) for the next run and ``status``."""
    cursor = cursors.get_cursor(session, source=source.name)
    if source.start_at is not None:
        bound = source.start_at
    elif cursor is not None and cursor.start_at is not None:
        bound = cursor.start_at
    else:
        bound = now - DEFAULT_START_LOOKBACK
    if record:
        cursors.record_start(session, source=source.name, start_at=bound)
    return bound
