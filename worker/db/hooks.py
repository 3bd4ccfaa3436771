"""Repository functions for ``hook_registrations``: the hooks and shop webhooks we created."""

from __future__ import annotations

from sqlmodel import Session, col, select

from worker.db.models import HookRegistration, utcnow
from worker.db.upsert import dialect_insert


def upsert_hook_registration(
    session: Session, *, target: str, remote_id: str, event: str, address: str, active: bool
) -> HookRegistration:
    """Record a hook as seen now (created or checked); one ``INSERT ... ON CONFLICT DO UPDATE``, so
    two hook checks at once cannot collide on (target, remote_id)."""
    now = utcnow()
    insert = dialect_insert(session, HookRegistration).values(
        target=target,
        remote_id=remote_id,
        event=event,
        address=address,
        active=active,
        last_checked_at=now,
        created_at=now,
    )
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["target", "remote_id"],
            set_={
                "event": insert.excluded.event,
                "address": insert.excluded.address,
                "active": insert.excluded.active,
                "last_checked_at": insert.excluded.last_checked_at,
            },
        )
    )
    return session.exec(
        select(HookRegistration)
        .where(HookRegistration.target == target, HookRegistration.remote_id == remote_id)
        .execution_options(populate_existing=True)
    ).one()


def list_hook_registrations(session: Session, *, target: str | None = None) -> list[HookRegistration]:
    statement = select(HookRegistration)
    if target is not None:
        statement = statement.where(HookRegistration.target == target)
    return list(
        session.exec(statement.order_by(col(HookRegistration.target), col(HookRegistration.event))).all()
    )


def delete_hook_registration(session: Session, *, target: str, remote_id: str) -> bool:
    """Forget a hook we moved away or removed; False when there was no row."""
    hook = session.exec(
        select(HookRegistration).where(
            HookRegistration.target == target, HookRegistration.remote_id == remote_id
        )
    ).first()
    if hook is None:
        return False
    session.delete(hook)
    session.flush()
    return True
