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

The index is every Picqer order made since ``covers_since`` (a bulk import when the mirror has
none) and every order reconcile or a look-up has read (reconcile reads every open order each run),
kept complete by a refresh that lists the orders after the highest idorder a complete listing has
read (``sinceid``). The import needs no open orders older than the window: a Picqer twin of a shop
order cannot be older than the shop order, and a shop order older than ``covers_since`` is looked
up anyway, so on an empty account it is one request.

It vouches only when fresh: refreshed within ``MAX_AGE`` by a refresh that started after this
process did (its own, or another worker's: a mirror restored from a backup before this process
started still holds the refresh time of the backup, older than this process), and still holding
the last order this process created (a mirror restored while this process ran has lost it). So
worker processes that start together trust the one import the first of them made, and none of
them refreshes right after it.

The import and the refreshes run one at a time across the worker processes (a lease in their
shared store, ``worker/sync/lease.py``): the others wait for it and read what it stored in the
mirror instead of listing the same orders again. Reconcile refreshes it on its schedule and records
every order it reads.
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
from worker.db import picqer_index
from worker.db.models import PicqerIndexState, utcnow
from worker.db.picqer_index import IndexedOrder
from worker.db.session import session_scope
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.foreground import run_with_retries
from worker.sync.lease import Lease, hold_lease

log = get_logger(__name__)

# the bulk import reads every order made in Picqer in this window; a shop order made before the
# window is looked up by reference instead
IMPORT_LOOKBACK = timedelta(days=14)
# ``sincedate`` is Picqer's account-local time, our clock UTC: list a day earlier, whatever the zone
ZONE_MARGIN = timedelta(days=1)
# an index no refresh has completed for this long is refreshed before a push trusts it; reconcile
# (every 10 minutes by default) normally keeps it younger
MAX_AGE = timedelta(minutes=30)
PAGE_ATTEMPTS = 4
# held (``worker/sync/lease.py``) by the one worker process importing or refreshing the index
INDEX_LEASE_KEY = "picqer:index-lease"


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
        state = _trusted_state(ctx)
        if state is not None:
            return state
        with hold_lease(ctx.shop_state, INDEX_LEASE_KEY) as lease:
            # another worker process may have imported or refreshed it while this one waited
            state = _trusted_state(ctx)
            if state is not None:
                return state
            return _refresh_or_build(ctx, lease)


def refresh_index(ctx: SyncContext) -> PicqerIndexState:
    """Read the orders made after the highest idorder a complete listing has read (one request when
    few are new); builds the index instead when there is none. A refresh another worker process
    started after this call (while this one waited for it) stands in for this one's."""
    asked = utcnow()
    with hold_lease(ctx.shop_state, INDEX_LEASE_KEY) as lease:
        with session_scope(ctx.engine) as session:
            state = picqer_index.get_state(session)
        if (
            state is not None
            and state.imported_at is not None
            and state.refreshed_at is not None
            and state.refreshed_at >= asked
        ):
            return state
        return _refresh_or_build(ctx, lease)


def _trusted_state(ctx: SyncContext) -> PicqerIndexState | None:
    with session_scope(ctx.engine) as session:
        state = picqer_index.get_state(session)
        if state is not None and state.imported_at is not None and _fresh(ctx, session, state):
            return state
    return None


def _fresh(ctx: SyncContext, session: Session, state: PicqerIndexState) -> bool:
    # the index keeps wall-clock (naive UTC) time, as the shops stamp their orders, not ``ctx.clock``
    memory = ctx.index_memory
    if state.refreshed_at is None:
        return False
    if memory.refreshed_at is None and state.refreshed_at < memory.started_at:
        # nobody has read Picqer's newest orders since this process started: the state may be a
        # restored backup's (hosts' clocks a few seconds apart do not matter: a restore takes longer)
        return False
    if utcnow() - state.refreshed_at > MAX_AGE:
        return False
    # the mirror lost an order this process created: it was restored from an older copy
    return memory.last_created is None or picqer_index.has_order(session, idorder=memory.last_created)


def _refresh_or_build(ctx: SyncContext, lease: Lease) -> PicqerIndexState:
    with session_scope(ctx.engine) as session:
        state = picqer_index.get_state(session)
    if state is None or state.imported_at is None:
        return _build(ctx, lease)
    return _refresh(ctx, state, lease)


def _build(ctx: SyncContext, lease: Lease) -> PicqerIndexState:
    """The bulk import: every order made since ``IMPORT_LOOKBACK`` ago (one request on an empty
    account). Open orders older than that are read by reconcile, not here: no verdict needs them."""
    started = utcnow()
    covers_since = started - IMPORT_LOOKBACK
    high_water = 0
    read = 0
    for page in retried_pages(ctx, sincedate=covers_since - ZONE_MARGIN):
        read += len(page)
        high_water = max([high_water, *(order.idorder for order in page)])
        _store(ctx, page)
        lease.renew()
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


def _refresh(ctx: SyncContext, state: PicqerIndexState, lease: Lease) -> PicqerIndexState:
    started = utcnow()
    high_water = state.high_water
    read = 0
    for page in retried_pages(ctx, sinceid=high_water):
        read += len(page)
        high_water = max([high_water, *(order.idorder for order in page)])
        _store(ctx, page)
        lease.renew()
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
