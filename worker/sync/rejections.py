"""Webhooks the receiver turned away, counted per source and reason, for ``status`` and the page.

A shop whose webhooks all fail their signature check (a rotated secret, a wrong source name in the
address) looks healthy from the inside: nothing fails, nothing arrives. The count says
"rejecting: signature mismatch, 37 in the last hour". One counter row per target, reason and
minute; rows older than :data:`KEEP` are dropped as new ones come, so the table stays small even
under a flood of bad requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from worker.db import health as repo
from worker.db.models import utcnow
from worker.db.session import session_scope
from worker.logging import get_logger

log = get_logger(__name__)

WINDOW = timedelta(hours=1)
KEEP = repo.KEEP_REJECTIONS
MAX_REASON_CHARS = 255


@dataclass(frozen=True)
class Rejections:
    target: str  # a source name, "picqer", or "unknown-source"
    reason: str
    count: int  # in the last WINDOW
    last_at: datetime  # the minute of the latest one

    def describe(self) -> str:
        return f"rejecting: {self.reason}, {self.count} in the last hour"


def count_rejection(engine: Engine, *, target: str, reason: str, now: datetime | None = None) -> None:
    """Count one rejected webhook; a database error is logged, never raised (the answer stands)."""
    now = now or utcnow()
    try:
        with session_scope(engine) as session:
            repo.count_rejection(
                session, target=target, reason=reason[:MAX_REASON_CHARS], minute=repo.minute_of(now)
            )
            repo.prune_rejections(session, before=now - KEEP)
    except SQLAlchemyError as error:
        log.warning("webhook_rejection_not_counted", target=target, error_type=type(error).__name__)


def recent_rejections(engine: Engine, *, now: datetime | None = None) -> list[Rejections]:
    now = now or utcnow()
    with session_scope(engine) as session:
        rows = repo.rejections_since(session, since=repo.minute_of(now - WINDOW))
    return [Rejections(target, reason, count, last) for target, reason, count, last in rows]
