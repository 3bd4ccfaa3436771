"""Small helpers the use cases share: write to one order row in its own short transaction."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from adapters.draft import OrderDraft
from worker.db import orders
from worker.db.models import Order
from worker.db.session import session_scope
from worker.sync.context import SyncContext


def record(ctx: SyncContext, order: Order, **fields: Any) -> Order:
    """Commit ``fields`` on the order's row now (before the next Picqer call) and return it."""
    assert order.id is not None
    with session_scope(ctx.engine) as session:
        return orders.update_order(session, order_id=order.id, **fields)


def draft_hash(draft: OrderDraft) -> str:
    """A stable fingerprint of a draft, to tell a changed shop order from a repeated one."""
    canonical = json.dumps(draft.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def draft_json(draft: OrderDraft) -> dict[str, Any]:
    return draft.model_dump(mode="json")
