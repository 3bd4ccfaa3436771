"""Orders that could not be synced, each with a reason a person understands; and their retry.

A retry re-runs the push from the MappedOrder stored on the row, so it needs no fetch from the
shop, and resumes at the step that failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.engine import Engine

from adapters.draft import MappedOrder
from worker.db import orders
from worker.db.models import Order, SyncState
from worker.db.session import session_scope
from worker.errors import RetriableError
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.outcomes import PushKind, PushOutcome, outcome
from worker.sync.push import push_order

log = get_logger(__name__)


@dataclass(frozen=True)
class Failure:
    order_id: int
    source: str
    shop_order_id: str
    shop_order_number: str
    state: str  # failed, or conflict (not retried: it needs a decision)
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
            reason=order.last_error or order.note or "no reason recorded",
            attempts=order.attempts,
            idorder=order.idorder,
            updated_at=order.updated_at,
        )


def list_failures(
    engine: Engine, *, source: str | None = None, include_conflicts: bool = True
) -> list[Failure]:
    with session_scope(engine) as session:
        rows = orders.list_failed_orders(session, source=source, include_conflicts=include_conflicts)
        return [Failure.of(row) for row in rows]


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
    if mapped is None:
        reason = "the shop order was never mapped; run `picqer-sync resync` for it"
        with session_scope(ctx.engine) as session:
            order = orders.update_order(
                session, order_id=order_id, sync_state=SyncState.FAILED, last_error=reason
            )
        return outcome(order, PushKind.FAILED, reason)
    try:
        return push_order(ctx, mapped)
    except RetriableError as error:
        log.warning(
            "order_retry_postponed", source=order.source, reference=order.reference, reason=error.reason
        )
        return outcome(order, PushKind.FAILED, f"will be retried: {error.reason}")
