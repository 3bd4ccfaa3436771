"""Tell the shop that a completed order shipped, with its tracking codes, exactly once."""

from __future__ import annotations

from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.fulfilment import (
    fulfilment_task,
    mark_fulfilment_reported,
    with_picklist_products,
    with_picqer_tracking,
)

log = get_logger(__name__)


def report_fulfilment(ctx: SyncContext, order_id: int) -> bool:
    """Report mirror order ``order_id``'s fulfilment to its shop; False when there was nothing to
    report (reported already, or not completed)."""
    task = fulfilment_task(ctx.engine, order_id=order_id)
    if task is None:
        return False
    # one order's hook, reconcile and the fulfilment sweep each ask for this report: run one at a
    # time, and look again once it is ours (shops refuse, or double, a second fulfilment)
    with ctx.order_lock(task.source, task.shop_order_id):
        task = fulfilment_task(ctx.engine, order_id=order_id)
        if task is None:
            return False
        task = with_picqer_tracking(ctx, task)  # its shipments hook may be lost or late
        task = with_picklist_products(ctx.picqer, task)  # shipped in parts: one fulfilment per part
        source = ctx.settings.source(task.source)
        tracking = [item for item in task.shipments if item.trackingcode]
        shop = ctx.open_source(source)
        try:
            ctx.platform(source).report_fulfilment(shop, shop_order_id=task.shop_order_id, tracking=tracking)
        finally:
            shop.close()
        mark_fulfilment_reported(ctx.engine, order_id=order_id)
    log.info("fulfilment_reported", source=task.source, reference=task.reference, tracking=len(tracking))
    return True
