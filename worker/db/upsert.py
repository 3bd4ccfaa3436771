"""``INSERT ... ON CONFLICT`` in the two dialects the mirror speaks.

Two jobs may write the same row at once (two reconciles, a reconcile and a Picqer event, two
hook checks). A select-then-insert loses that race with a unique violation; an insert that names
its conflict target cannot: PostgreSQL waits for the other transaction and then updates (or does
nothing), SQLite serialises writers anyway.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from worker.errors import ConfigError


def dialect_insert(session: Session, model: Any) -> Any:
    """``insert(model)`` of the session's dialect, which has ``on_conflict_do_update`` / ``_nothing``."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    # make_engine accepts any URL; the mirror's upserts speak only these two dialects
    raise ConfigError(f"the mirror needs SQLite or PostgreSQL, not {dialect}")
