"""Shop-side changes to an order Picqer already holds (PRODUCT.md, behaviour 4).

Address and remark changes are sent with ``PUT /orders/{id}`` while Picqer allows it; line
changes after processing cannot be made through the API and are recorded as a conflict.
"""

from __future__ import annotations

from typing import Any

from adapters.draft import OrderDraft
from adapters.picqer.status import FINAL_STATUSES
from worker.db.models import Order, SyncState
from worker.errors import ApiRejected
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.outcomes import PushKind, PushOutcome, outcome
from worker.sync.record import draft_hash, draft_json, record

log = get_logger(__name__)


def changed_fields(old: OrderDraft | None, new: OrderDraft) -> dict[str, Any]:
    """The ``PUT /orders`` fields that differ; a field the shop cleared is sent as null."""
    before = old.address_payload() if old is not None else {}
    after = new.address_payload()
    changes = {name: value for name, value in after.items() if before.get(name) != value}
    changes.update({name: None for name in before if name not in after})
    return changes


def lines_changed(old: OrderDraft | None, new: OrderDraft) -> bool:
    def lines(draft: OrderDraft) -> list[tuple[str, int]]:
        return sorted((line.productcode, line.amount) for line in draft.products)

    return old is not None and lines(old) != lines(new)


def apply_shop_changes(ctx: SyncContext, order: Order, draft: OrderDraft) -> PushOutcome:
    """Send what changed in the shop since the last push; ``unchanged`` for a repeat."""

    new_hash = draft_hash(draft)
    if order.pushed_draft_hash == new_hash:
        log.info("order_unchanged", source=order.source, reference=order.reference, idorder=order.idorder)
        return outcome(order, PushKind.UNCHANGED)
    assert order.idorder is not None
    old = OrderDraft.model_validate(order.pushed_draft) if order.pushed_draft else None
    fields = changed_fields(old, draft)
    conflict: str | None = None
    if lines_changed(old, draft):
        conflict = (
            "the shop changed the order lines after Picqer received the order; change them in Picqer by hand"
        )
    if fields and order.picqer_status in FINAL_STATUSES:
        conflict = (
            f"the shop changed the address or remarks after Picqer marked the order {order.picqer_status}"
        )
        fields = {}
    if fields:
        try:
            ctx.picqer.update_order(order.idorder, fields)
        except ApiRejected as error:
            conflict = f"Picqer refused the address or remark change: {error.reason}"
        else:
            log.info(
                "order_updated",
                source=order.source,
                reference=order.reference,
                idorder=order.idorder,
                fields=sorted(fields),  # names only: values are addresses
            )
    order = record(ctx, order, pushed_draft=draft_json(draft), pushed_draft_hash=new_hash)
    if conflict is not None:
        order = record(ctx, order, sync_state=SyncState.CONFLICT, note=conflict)
        log.warning(
            "order_conflict",
            source=order.source,
            reference=order.reference,
            idorder=order.idorder,
            reason=conflict,
        )
        return outcome(order, PushKind.CONFLICT, conflict)
    return outcome(order, PushKind.UPDATED if fields else PushKind.UNCHANGED)
