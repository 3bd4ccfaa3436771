"""Picqer events into the mirror: the newest ``updated`` wins; shipments; fulfilment to report."""

from __future__ import annotations

from typing import Any

from adapters.picqer.models import PicqerEvent
from tests.sync.conftest import ContextFactory, mapped_order
from tests.sync.fake_picqer import FakePicqer
from worker.db import orders
from worker.db.session import session_scope
from worker.sync.events import apply_picqer_event
from worker.sync.fulfilment import mark_fulfilment_reported, orders_to_fulfil
from worker.sync.outcomes import EventKind
from worker.sync.push import push_order


def _event(name: str, data: dict[str, Any], at: str = "2026-03-01 13:00:00") -> PicqerEvent:
    return PicqerEvent.model_validate(
        {"idhook": 1, "name": "sync", "event": name, "event_triggered_at": at, "data": data}
    )


def _order(idorder: int, status: str, updated: str) -> dict[str, Any]:
    return {"idorder": idorder, "reference": "#1001", "status": status, "updated": updated}


def test_late_and_duplicate_events_never_move_the_order_back(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()
    idorder = push_order(ctx, mapped_order()).idorder
    assert idorder is not None
    paused = _event("orders.status_changed", _order(idorder, "paused", "2026-03-01 14:00:00"))
    completed = _event("orders.completed", _order(idorder, "completed", "2026-03-01 15:00:00"))
    late = _event("orders.resumed", _order(idorder, "processing", "2026-03-01 14:30:00"))

    results = [apply_picqer_event(ctx, e) for e in (completed, paused, completed, late)]

    assert [r.kind for r in results] == [EventKind.APPLIED, EventKind.STALE, EventKind.STALE, EventKind.STALE]
    assert [r.newly_completed for r in results] == [True, False, False, False]
    with session_scope(ctx.engine) as session:
        row = orders.get_order_by_idorder(session, idorder=idorder)
        assert row is not None
        assert row.picqer_status == "completed"


def test_same_second_events_keep_the_one_further_along(make_ctx: ContextFactory, fake: FakePicqer) -> None:
    ctx = make_ctx()
    idorder = push_order(ctx, mapped_order()).idorder
    assert idorder is not None
    stamp = "2026-03-01 14:00:00"

    first = apply_picqer_event(ctx, _event("orders.completed", _order(idorder, "completed", stamp)))
    second = apply_picqer_event(ctx, _event("orders.status_changed", _order(idorder, "processing", stamp)))

    assert (first.kind, second.kind) == (EventKind.APPLIED, EventKind.STALE)


def test_shipments_are_stored_and_completed_orders_are_listed_for_fulfilment(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()
    pushed = push_order(ctx, mapped_order())
    idorder = pushed.idorder
    assert idorder is not None
    shipment = {
        "idshipment": 77,
        "idpicklist": 9,
        "idorder": idorder,
        "trackingcode": "3SABC123",
        "trackingurl": "https://track.example/3SABC123",
        "public_providername": "PostNL",
    }

    stored = apply_picqer_event(ctx, _event("picklists.shipments.created", shipment))
    assert orders_to_fulfil(ctx.engine) == []
    done = apply_picqer_event(
        ctx, _event("orders.status_changed", _order(idorder, "completed", "2026-03-01 15:00:00"))
    )
    [task] = orders_to_fulfil(ctx.engine, source="shop")
    mark_fulfilment_reported(ctx.engine, order_id=task.order_id)

    assert stored.kind is EventKind.SHIPMENT
    assert done.newly_completed
    assert (task.shop_order_id, task.idorder) == ("id-1001", idorder)
    assert [(s.trackingcode, s.carrier) for s in task.shipments] == [("3SABC123", "PostNL")]
    assert orders_to_fulfil(ctx.engine) == []


def test_events_for_orders_we_did_not_push_are_ignored(make_ctx: ContextFactory) -> None:
    ctx = make_ctx()

    order_event = apply_picqer_event(
        ctx, _event("orders.completed", _order(424242, "completed", "2026-03-01 15:00:00"))
    )
    shipment_event = apply_picqer_event(
        ctx, _event("picklists.shipments.created", {"idshipment": 1, "idorder": 424242})
    )
    other = apply_picqer_event(ctx, _event("products.changed", {"idproduct": 1}))

    assert [order_event.kind, shipment_event.kind, other.kind] == [EventKind.IGNORED] * 3
