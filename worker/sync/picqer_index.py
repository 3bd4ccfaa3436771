"""The Picqer index: which references Picqer already holds, so that a first push needs no look-up.

Picqer has no idempotency key on ``POST /orders``, and the mirror may not know an order Picqer
has: the mirror is new or was restored from a backup, another deployment pushed it, another
connector or a person made it. So before a first create the push asks this index
(docs/ARCHITECTURE.md, "Exactly once when the mirror does not know the order"):

- ``KNOWN``: Picqer holds a live order with this reference: look it up and adopt it (the rules
  of ``worker/sync/adopt.py``: same products, same customer email, not another row's);
- ``ABSENT``: the index vouches that Picqer holds none: create, with no look-up (the steady path
  stays at 2 + tags requests);
- ``UNVOUCHED``: the index cannot tell (the shop order is older than the window the index
  covers, or its creation time is unknown): look it up by reference first.

The index is every open Picqer order and every order made since ``covers_since`` (a bulk import
when the mirror has none), kept complete by a refresh that lists the orders after the highest
idorder a complete listing has read (``sinceid``). It vouches only when fresh: refreshed by this
process since it started, within ``MAX_AGE``, and still holding the last order this process
created (a mirror restored from a backup has lost it, so the index is refreshed before it is
trusted again). Reconcile refreshes it on its schedule and records every order it reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from sqlmodel import Session

from adapters.picqer.models import PicqerOrder
from adapters.picqer.pagination import PAGE_SIZE
from adapters.picqer.status import OPEN_STATUSES
from worker.db import picqer_index
from worker.db.models import PicqerIndexState, utcnow
from worker.db.picqer_index import IndexedOrder
from worker.db.session import session_scope
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.foreground import run_with_retries

log = get_logger(__name__)

# the bulk import reads every order made in Picqer in this window (and every open order, however
# old); a shop order made before the window is looked up by reference instead
IMPORT_LOOKBACK = timedelta(days=14)
# ``sincedate`` is Picqer's account-local time, our clock UTC: list a day earlier, whatever the zone
ZONE_MARGIN = timedelta(days=1)
# an index no refresh has completed for this long is refreshed before a push trusts it; reconcile
# (every 10 minutes by default) normally keeps it younger
MAX_AGE = timedelta(minutes=30)
PAGE_ATTEMPTS = 4


class Verdict(StrEnum):
    KNOWN = "known"  # Picqer holds a live order with this reference: look up and adopt
    ABSENT = "absent"  # the index vouches that Picqer holds none: create without a look-up
    UNVOUCHED = "unvouched"  # the index cannot tell: look up by reference first


def check_reference(ctx: SyncContext, reference: str, *, shop_created_at: datetime | None) -> Verdict:
    """What the index says of ``reference`` for a shop order made at ``shop_created_at`` (naive UTC)."""
    state = ensure_fresh(ctx)
    with session_scope(ctx.engine) as session:
        if picqer_index.has_live_reference(session, reference=reference):
            return Verdict.KNOWN
    if shop_created_at is None or state.covers_since is None or shop_created_at < state.covers_since:
        return Verdict.UNVOUCHED
    return Verdict.ABSENT


def ensure_fresh(ctx: SyncContext) -> PicqerIndexState:
    """The index's state, imported or refreshed first when it cannot be trusted as it is."""
    memory = ctx.index_memory
    with memory.lock:
        with session_scope(ctx.engine) as session:
            state = picqer_index.get_state(session)
            fresh = state is not None and state.imported_at is not None and _fresh(ctx, session, state)
        if fresh:
            assert state is not None
            return state
        if state is None or state.imported_at is None:
            return build_index(ctx)
        return refresh_index(ctx)


def _fresh(ctx: SyncContext, session: Session, state: PicqerIndexState) -> bool:
    # the index keeps wall-clock (naive UTC) time, as the shops stamp their orders, not ``ctx.clock``
    memory = ctx.index_memory
    if memory.refreshed_at is None or state.refreshed_at is None:
        return False  # this process has not read Picqer's newest orders itself yet
    if utcnow() - state.refreshed_at > MAX_AGE:
        return False
    # the mirror lost an order this process created: it was restored from an older copy
    return memory.last_created is None or picqer_index.has_order(session, idorder=memory.last_created)


def build_index(ctx: SyncContext) -> PicqerIndexState:
    """The bulk import: every open order, and every order made since ``IMPORT_LOOKBACK`` ago."""
    started = utcnow()
    covers_since = started - IMPORT_LOOKBACK
    high_water = 0
    read = 0
    listings = [retried_pages(ctx, status=status) for status in OPEN_STATUSES]
    listings.append(retried_pages(ctx, sincedate=covers_since - ZONE_MARGIN))
    for listing in listings:
        for page in listing:
            read += len(page)
            high_water = max([high_water, *(order.idorder for order in page)])
            _store(ctx, page)
    with session_scope(ctx.engine) as session:
        state = picqer_index.save_state(
            session,
            imported_at=utcnow(),
            covers_since=covers_since,
            high_water=high_water,
            refreshed_at=started,
        )
    ctx.index_memory.refreshed_at = started
    log.info("picqer_index_built", orders=read, high_water=high_water, covers_since=covers_since.isoformat())
    return state


def refresh_index(ctx: SyncContext) -> PicqerIndexState:
    """Read the orders made after the highest idorder a complete listing has read (one request when
    few are new); builds the index instead when there is none."""
    with session_scope(ctx.engine) as session:
        state = picqer_index.get_state(session)
    if state is None or state.imported_at is None:
        return build_index(ctx)
    started = utcnow()
    high_water = state.high_water
    read = 0
    for page in retried_pages(ctx, sinceid=high_water):
        read += len(page)
        high_water = max([high_water, *(order.idorder for order in page)])
        _store(ctx, page)
    with session_scope(ctx.engine) as session:
        state = picqer_index.save_state(session, high_water=high_water, refreshed_at=started)
    ctx.index_memory.refreshed_at = started
    log.info("picqer_index_refreshed", new_orders=read, high_water=high_water)
    return state


def note_created(session: Session, ctx: SyncContext, created: PicqerOrder) -> None:
    """Record an order this process just created (in the session that records it on its row)."""
    picqer_index.upsert_entries(session, [_entry(created)])
    ctx.index_memory.last_created = created.idorder


def note_seen(session: Session, seen: Iterable[PicqerOrder]) -> None:
    """Record Picqer orders read elsewhere (reconcile, a look-up by reference)."""
    picqer_index.upsert_entries(session, [_entry(order) for order in seen])


def _store(ctx: SyncContext, page: list[PicqerOrder]) -> None:
    with session_scope(ctx.engine) as session:
        note_seen(session, page)


def _entry(order: PicqerOrder) -> IndexedOrder:
    return IndexedOrder(order.idorder, order.reference, order.status, order.updated)


def retried_pages(ctx: SyncContext, **filters: Any) -> Iterator[list[PicqerOrder]]:
    """Every page (offset by 100) of an order listing, each page retried on its own: one 5xx on
    page 7 of a long listing must not throw away the six pages read before it (the client itself
    never retries)."""
    offset = 0
    while True:
        page = run_with_retries(
            partial(ctx.picqer.list_orders, offset=offset, **filters), attempts=PAGE_ATTEMPTS
        )
        yield page
        if len(page) < PAGE_SIZE:
            return
        offset += PAGE_SIZE
