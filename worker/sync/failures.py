"""Orders that could not be synced, or that a person must decide on; their retry and resolution.

A retry re-runs the push from the MappedOrder stored on the row, so it needs no fetch from the
shop, and resumes at the step that failed; an order that failed before it was ever mapped is
fetched from the shop again. Paused orders (cancelled in the shop while Picqer was picking) and
conflicts need a person: they are listed with the failures, and ``failures resolve ID`` records
that a person dealt with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from adapters.draft import MappedOrder
from worker.db import orders
from worker.db.models import Order, SyncState
from worker.db.session import session_scope
from worker.errors import FatalError, RetriableError
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.outcomes import PushKind, PushOutcome, outcome
from worker.sync.push import push_order
from worker.sync.shop_orders import map_and_push

log = get_logger(__name__)


@dataclass(frozen=True)
class Failure:
    order_id: int
    source: str
    shop_order_id: str
    shop_order_number: str
    state: str  # failed; or paused, conflict (not retried: a person decides, then resolves it)
    step: str | None
    reason: str
    attempts: int
    idorder: int | None
    updated_at: datetime

    @classmethod
    def of(cls, order: Order) -> Failure:
        assert order.id is not None
        return cls(
            order_id=order.id,
            source=order.source,
            shop_order_id=order.shop_order_id,
            shop_order_number=order.shop_order_number,
            state=order.sync_state,
            step=order.failed_step,
            reason=(
                order.last_error or order.note or "no reason recorded"
                if order.sync_state == SyncState.FAILED
                else order.note or order.last_error or "no reason recorded"
            ),
            attempts=order.attempts,
            idorder=order.idorder,
            updated_at=order.updated_at,
        )


#: the states a person must act on besides ``failed``: the sync will not move them on its own
NEEDS_PERSON = (SyncState.PAUSED, SyncState.CONFLICT)
RESOLVED_NOTE = "resolved by a person"


def list_failures(
    engine: Engine, *, source: str | None = None, include_conflicts: bool = True
) -> list[Failure]:
    """Failed orders, then (``include_conflicts``) paused orders and conflicts, newest first."""
    with session_scope(engine) as session:
        rows = orders.list_failed_orders(session, source=source, include_conflicts=False)
        if include_conflicts:
            rows += list_needing_person(session, source=source)
        return [Failure.of(row) for row in rows]


def list_needing_person(session: Session, *, source: str | None = None, limit: int = 500) -> list[Order]:
    """Paused orders and conflicts not yet resolved, newest first."""
    statement = select(Order).where(col(Order.sync_state).in_(list(NEEDS_PERSON)))
    if source is not None:
        statement = statement.where(Order.source == source)
    statement = statement.order_by(col(Order.updated_at).desc(), col(Order.id).desc()).limit(limit)
    return list(session.exec(statement).all())


def resolve_order(ctx: SyncContext, *, order_id: int, note: str = RESOLVED_NOTE) -> Order | None:
    """Record that a person dealt with a paused order or a conflict; None when it is neither.

    The row keeps its Picqer order and states what Picqer holds (cancelled when it was paused, as
    the shop wanted; synced otherwise); the sync leaves it alone until the shop changes it again.
    """
    with session_scope(ctx.engine) as session:
        order = orders.get_order_by_id(session, order_id=order_id)
        if order is None or order.sync_state not in NEEDS_PERSON:
            return None
        state = SyncState.CANCELLED if order.sync_state == SyncState.PAUSED else SyncState.SYNCED
        if order.idorder is None:
            state = SyncState.SKIPPED
        resolved = orders.update_order(
            session, order_id=order_id, sync_state=state, note=f"{RESOLVED_NOTE}: was {order.sync_state}"
        )
    log.info("order_resolved", source=resolved.source, reference=resolved.reference, state=state.value)
    return resolved


def retry_failures(ctx: SyncContext, *, order_ids: Sequence[int] | None = None) -> list[PushOutcome]:
    """Retry the named failed orders (all failed ones when ``order_ids`` is None)."""
    with session_scope(ctx.engine) as session:
        reset = orders.reset_for_retry(session, order_ids=order_ids)
    return [retry_order(ctx, order_id=row.id) for row in reset if row.id is not None]


def retry_order(ctx: SyncContext, *, order_id: int) -> PushOutcome:
    """Push the stored shop order again (a reset failure, or a push reconcile found half-done).

    A retriable error is not raised, so one busy order does not stop a batch: the order stays in
    the failures list with that reason, to be retried again.
    """
    with session_scope(ctx.engine) as session:
        order = orders.get_order_by_id(session, order_id=order_id)
    if order is None:
        raise LookupError(f"no order {order_id} in the mirror")
    try:
        mapped = MappedOrder.model_validate(order.mapped_json) if order.mapped_json else None
    except ValidationError:
        mapped = None
    try:
        if mapped is None:
            # it failed before mapping (the mapper refused it, or the fetch failed): ask the shop again
            return _fetch_and_push(ctx, order)
        return push_order(ctx, mapped)
    except RetriableError as error:
        log.warning(
            "order_retry_postponed", source=order.source, reference=order.reference, reason=error.reason
        )
        return outcome(order, PushKind.FAILED, f"will be retried: {error.reason}")
    except FatalError as error:  # the shop refused the fetch, or the source is gone from the config
        with session_scope(ctx.engine) as session:
            order = orders.update_order(
                session, order_id=order_id, sync_state=SyncState.FAILED, last_error=error.reason
            )
        return outcome(order, PushKind.FAILED, error.reason)


def _fetch_and_push(ctx: SyncContext, order: Order) -> PushOutcome:
    source = ctx.settings.source(order.source)  # ConfigError when the source was removed
    shop = ctx.open_source(source)
    try:
        raw = shop.get_order(order.shop_order_id)
    finally:
        shop.close()
    return map_and_push(ctx, ctx.platform(source), source, raw, order.shop_order_id)
