"""Repository functions for ``account_health`` and ``webhook_rejections``."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, func, select

from worker.db.models import AccountHealth, WebhookRejection, utcnow


def mark_broken(session: Session, *, target: str, reason: str, now: datetime | None = None) -> AccountHealth:
    """Record ``target`` as refusing us; ``broken_since`` keeps the first time."""
    now = now or utcnow()
    row = session.get(AccountHealth, target) or AccountHealth(target=target)
    if row.broken_since is None:
        row.broken_since = now
    row.reason = reason
    row.last_checked_at = now
    session.add(row)
    session.flush()
    return row


def mark_ok(session: Session, *, target: str, now: datetime | None = None) -> bool:
    """Record ``target`` as working; True when it was broken until now."""
    now = now or utcnow()
    row = session.get(AccountHealth, target) or AccountHealth(target=target)
    was_broken = row.broken_since is not None
    row.broken_since = None
    row.reason = None
    row.last_checked_at = now
    row.last_ok_at = now
    session.add(row)
    session.flush()
    return was_broken


def list_broken(session: Session) -> list[AccountHealth]:
    statement = select(AccountHealth).where(col(AccountHealth.broken_since).is_not(None))
    return list(session.exec(statement.order_by(col(AccountHealth.target))).all())


def count_rejection(session: Session, *, target: str, reason: str, minute: datetime) -> None:
    """Add one to the (target, reason, minute) counter."""
    row = session.exec(
        select(WebhookRejection).where(
            WebhookRejection.target == target,
            WebhookRejection.reason == reason,
            WebhookRejection.minute == minute,
        )
    ).first()
    if row is None:
        try:
            with session.begin_nested():
                session.add(WebhookRejection(target=target, reason=reason, minute=minute, count=1))
            return
        except IntegrityError:  # another receiver made the row this minute
            row = session.exec(
                select(WebhookRejection).where(
                    WebhookRejection.target == target,
                    WebhookRejection.reason == reason,
                    WebhookRejection.minute == minute,
                )
            ).one()
    row.count += 1
    session.add(row)


def rejections_since(session: Session, *, since: datetime) -> list[tuple[str, str, int, datetime]]:
    """(target, reason, count, last minute) of the rejections counted since ``since``."""
    statement = (
        select(
            WebhookRejection.target,
            WebhookRejection.reason,
            func.sum(WebhookRejection.count),
            func.max(WebhookRejection.minute),
        )
        .where(WebhookRejection.minute >= since)
        .group_by(col(WebhookRejection.target), col(WebhookRejection.reason))
        .order_by(col(WebhookRejection.target))
    )
    return [
        (target, reason, int(total), last) for target, reason, total, last in session.exec(statement).all()
    ]


def prune_rejections(session: Session, *, before: datetime) -> None:
    session.exec(delete(WebhookRejection).where(col(WebhookRejection.minute) < before))  # type: ignore[call-overload]


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


KEEP_REJECTIONS = timedelta(hours=2)
