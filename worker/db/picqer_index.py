"""Repository functions for ``picqer_index`` and ``picqer_index_state`` (see worker/sync/picqer_index.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from adapters.picqer.status import PicqerStatus
from worker.db.models import PicqerIndexEntry, PicqerIndexState, utcnow
from worker.db.upsert import dialect_insert

STATE_NAME = "picqer"  # one Picqer account per mirror


@dataclass(frozen=True)
class IndexedOrder:
    idorder: int
    reference: str | None
    status: str | None
    updated: datetime | None


def get_state(session: Session) -> PicqerIndexState | None:
    return session.get(PicqerIndexState, STATE_NAME)


def save_state(session: Session, **fields: Any) -> PicqerIndexState:
    """Set ``fields`` on the one state row (made when missing); ``high_water`` never moves back.

    Safe when two workers save at once (two imports when the lease between them was lost): the row
    is made with an insert that yields to the other's, then locked for the update (PostgreSQL)."""
    missing_row = dialect_insert(session, PicqerIndexState).values(
        name=STATE_NAME, high_water=0, updated_at=utcnow()
    )
    session.execute(missing_row.on_conflict_do_nothing())
    state = session.get(PicqerIndexState, STATE_NAME, with_for_update=True, populate_existing=True)
    assert state is not None  # made just now, or by the other worker
    for name, value in fields.items():
        if name == "high_water":
            value = max(int(value), state.high_water or 0)
        setattr(state, name, value)
    state.updated_at = utcnow()
    session.add(state)
    session.flush()
    return state


def upsert_entries(session: Session, entries: Iterable[IndexedOrder]) -> int:
    """Insert or refresh index rows (safe when two workers race); returns how many were given."""
    rows = [
        {
            "idorder": entry.idorder,
            "reference": (entry.reference or None) and entry.reference[:100],
            "status": entry.status,
            "updated": entry.updated,
            "seen_at": utcnow(),
        }
        # each once, in idorder order: two workers upserting the same page lock rows in one order
        for entry in sorted({entry.idorder: entry for entry in entries}.values(), key=lambda e: e.idorder)
    ]
    if not rows:
        return 0
    insert = dialect_insert(session, PicqerIndexEntry)
    statement = insert.values(rows).on_conflict_do_update(
        index_elements=["idorder"],
        set_={name: insert.excluded[name] for name in ("reference", "status", "updated", "seen_at")},
    )
    session.execute(statement)
    session.flush()
    return len(rows)


def has_live_reference(session: Session, *, reference: str) -> bool:
    """Whether Picqer holds an order with this reference that is not cancelled (as last seen)."""
    statement = select(PicqerIndexEntry.idorder).where(
        PicqerIndexEntry.reference == reference,
        sa.or_(
            col(PicqerIndexEntry.status).is_(None), col(PicqerIndexEntry.status) != PicqerStatus.CANCELLED
        ),
    )
    return session.exec(statement.limit(1)).first() is not None


def has_order(session: Session, *, idorder: int) -> bool:
    return session.get(PicqerIndexEntry, idorder) is not None


def count_entries(session: Session) -> int:
    return int(session.execute(sa.select(sa.func.count()).select_from(PicqerIndexEntry)).scalar_one())
