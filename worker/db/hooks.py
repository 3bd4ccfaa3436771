"""Repository functions for ``hook_registrations``: the hooks and shop webhooks we created."""

from __future__ import annotations

from sqlmodel import Session, col, select

from worker.db.models import HookRegistration, utcnow


def upsert_hook_registration(
    session: Session, *, target: str, remote_id: str, event: str, address: str, active: bool
) -> HookRegistration:
    """Record a hook as seen now (created or checked)."""
    hook = session.exec(
        select(HookRegistration).where(
            HookRegistration.target == target, HookRegistration.remote_id == remote_id
        )
    ).first() or HookRegistration(target=target, remote_id=remote_id, event=event, address=address)
    hook.event = event
    hook.address = address
    hook.active = active
    hook.last_checked_at = utcnow()
    session.add(hook)
    session.flush()
    return hook


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
