"""The personal data of orders finished longer ago than the retention is blanked; open ones keep it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.draft import ShopOrderState
from tests.sync.conftest import ContextFactory, mapped_order
from tests.sync.fake_picqer import FakePicqer
from worker.config import Settings
from worker.db import orders
from worker.db.models import Order, SyncState, SyncStep, utcnow
from worker.db.session import session_scope
from worker.sync.outcomes import PushKind
from worker.sync.push import push_order
from worker.sync.retention import prune_expired

NOW = datetime(2026, 12, 20, 12, 0, 0)
DAY = timedelta(days=1)
DRAFT = {"reference": "#1", "deliveryname": "J. Strijbos", "emailaddress": "j@example.com", "products": []}


def _order(
    engine: Engine, number: str, *, last_change: datetime, tracking: bool = True, **fields: Any
) -> int:
    """An order with both drafts and a tracked shipment, in the state ``fields`` say, last changed then."""
    with session_scope(engine) as session:
        row = orders.ensure_order(
            session, source="shop", shop_order_id=number, shop_order_number=number, reference=f"#{number}"
        )
        assert row.id is not None
        orders.update_order(
            session,
            order_id=row.id,
            mapped_json={"source": "shop", "draft": DRAFT},
            pushed_draft=DRAFT,
            pushed_draft_hash="f" * 64,
            **fields,
        )
        if tracking:
            orders.upsert_shipment(
                session,
                order_id=row.id,
                idshipment=int(number) + 9000,
                idpicklist=None,
                trackingcode="3SABCD123",
                trackingurl="https://jouw.postnl.nl/track-and-trace/3SABCD123/NL/3928DM",
                carrier="PostNL",
            )
        session.execute(sa.update(Order).where(Order.id == row.id).values(updated_at=last_change))
        return row.id


def _holds_data(engine: Engine, order_id: int) -> bool:
    with session_scope(engine) as session:
        row = orders.get_order_by_id(session, order_id=order_id)
        assert row is not None
        tracked = [
            (item.trackingcode, item.trackingurl)
            for item in orders.list_shipments(session, order_id=order_id, include_cancelled=True)
        ]
        held = [row.mapped_json is not None, row.pushed_draft is not None] + [
            code is not None or url is not None for code, url in tracked
        ]
    assert len(set(held)) == 1, f"order {order_id} is half blanked: {held}"
    return held[0]


COMPLETED_REPORTED = {
    "idorder": 1,
    "sync_state": SyncState.SYNCED,
    "sync_step": SyncStep.PROCESSED,
    "picqer_status": "completed",
    "fulfilment_reported_at": NOW - 20 * DAY,
}


def test_finished_orders_past_the_retention_are_blanked_and_open_ones_keep_their_data(
    engine: Engine, settings: Settings
) -> None:
    long_ago, lately = NOW - 15 * DAY, NOW - 13 * DAY
    completed_long_ago = _order(engine, "1", last_change=long_ago, **COMPLETED_REPORTED)
    completed_lately = _order(engine, "2", last_change=lately, **{**COMPLETED_REPORTED, "idorder": 2})
    completed_not_reported = _order(
        engine,
        "3",
        last_change=long_ago,
        **{**COMPLETED_REPORTED, "idorder": 3, "fulfilment_reported_at": None},
    )
    open_in_picqer = _order(
        engine,
        "4",
        last_change=NOW - 90 * DAY,
        idorder=4,
        sync_state=SyncState.SYNCED,
        picqer_status="processing",
    )
    cancelled = _order(engine, "5", last_change=long_ago, idorder=5, sync_state=SyncState.CANCELLED)
    cancelled_in_picqer = _order(
        engine, "6", last_change=long_ago, idorder=6, sync_state=SyncState.SYNCED, picqer_status="cancelled"
    )
    skipped_never_pushed = _order(
        engine, "7", last_change=long_ago, tracking=False, sync_state=SyncState.SKIPPED
    )
    failed = _order(engine, "8", last_change=NOW - 90 * DAY, tracking=False, sync_state=SyncState.FAILED)
    conflict = _order(
        engine,
        "9",
        last_change=NOW - 90 * DAY,
        **{**COMPLETED_REPORTED, "idorder": 9, "sync_state": "conflict"},
    )
    paused = _order(engine, "10", last_change=NOW - 90 * DAY, idorder=10, sync_state=SyncState.PAUSED)
    pending = _order(engine, "11", last_change=NOW - 90 * DAY, tracking=False, sync_state=SyncState.PENDING)

    result = prune_expired(engine, settings, now=NOW)

    blanked = {completed_long_ago, cancelled, cancelled_in_picqer, skipped_never_pushed}
    kept = {completed_lately, completed_not_reported, open_in_picqer, failed, conflict, paused, pending}
    assert result.orders_blanked == len(blanked)
    assert {order_id for order_id in blanked if _holds_data(engine, order_id)} == set()
    assert {order_id for order_id in kept if _holds_data(engine, order_id)} == kept

    with session_scope(engine) as session:
        row = orders.get_order_by_id(session, order_id=completed_long_ago)
        assert row is not None
        # what is not personal stays: the identity, the states, the digest of the draft, the carrier
        assert (row.reference, row.idorder, row.picqer_status, row.pushed_draft_hash) == (
            "#1",
            1,
            "completed",
            "f" * 64,
        )
        assert row.updated_at == long_ago  # blanking is not a change of the order
        [shipment] = orders.list_shipments(session, order_id=completed_long_ago)
        assert (shipment.carrier, shipment.idshipment) == ("PostNL", 9001)

    # a second run finds nothing left (SQL NULL and JSON null alike count as blank)
    assert prune_expired(engine, settings, now=NOW).orders_blanked == 0
    assert prune_expired(engine, settings, now=NOW + 2 * DAY).orders_blanked == 1  # completed_lately


def test_an_order_touched_after_it_was_listed_keeps_its_data(engine: Engine) -> None:
    order_id = _order(engine, "1", last_change=NOW - 15 * DAY, **COMPLETED_REPORTED)
    cutoff = NOW - 14 * DAY
    with session_scope(engine) as session:
        listed = orders.list_finished_with_personal_data(session, finished_before=cutoff)
    assert listed == [order_id]
    with session_scope(engine) as session:  # a shop webhook arrives for it meanwhile, a day ago
        session.execute(
            sa.update(Order).where(Order.id == order_id).values(shop_status="fulfilled", updated_at=NOW - DAY)
        )

    with session_scope(engine) as session:
        assert orders.blank_personal_data(session, order_ids=listed, finished_before=cutoff) == 0
    assert _holds_data(engine, order_id)


def test_the_order_batches_are_bounded_and_the_next_run_goes_on(engine: Engine, settings: Settings) -> None:
    ids = [
        _order(engine, str(number), last_change=NOW - 30 * DAY, **{**COMPLETED_REPORTED, "idorder": number})
        for number in range(1, 6)
    ]

    first = prune_expired(engine, settings, now=NOW, batch_size=2, max_batches=2)
    assert (first.orders_blanked, first.complete) == (4, False)
    second = prune_expired(engine, settings, now=NOW, batch_size=2)
    assert (second.orders_blanked, second.complete) == (1, True)
    assert not any(_holds_data(engine, order_id) for order_id in ids)


def test_a_blanked_order_sent_again_unchanged_is_still_recognised_and_a_new_version_is_stored(
    make_ctx: ContextFactory, fake: FakePicqer, settings: Settings
) -> None:
    ctx = make_ctx()
    pushed = push_order(ctx, mapped_order("1001"))
    assert pushed.kind is PushKind.PUSHED
    assert pushed.idorder is not None
    fake.set_status(pushed.idorder, "completed")
    with session_scope(ctx.engine) as session:
        row = orders.get_order(session, source="shop", shop_order_id="id-1001")
        assert row is not None
        assert row.id is not None
        orders.update_order(session, order_id=row.id, picqer_status="completed", fulfilment_reported_at=NOW)
    later = utcnow() + 15 * DAY  # the push stamped the order with the real clock

    assert prune_expired(ctx.engine, settings, now=later).orders_blanked == 1
    fake.requests.clear()

    again = push_order(ctx, mapped_order("1001"))  # the shop re-sends the same order
    assert again.kind is PushKind.UNCHANGED
    assert fake.requests == []  # no create, no update: the digest still knows the order

    fulfilled = push_order(ctx, mapped_order("1001", state=ShopOrderState.NOTHING_TO_SHIP))
    assert fulfilled.kind is PushKind.UNCHANGED
    with session_scope(ctx.engine) as session:
        row = orders.get_order(session, source="shop", shop_order_id="id-1001")
        assert row is not None
        assert row.mapped_json is not None  # the new version is kept ...
    # ... until the order has been quiet for the retention again
    assert prune_expired(ctx.engine, settings, now=utcnow() + 13 * DAY).orders_blanked == 0
    assert prune_expired(ctx.engine, settings, now=utcnow() + 15 * DAY).orders_blanked == 1


def test_a_draft_stored_as_json_null_counts_as_blank(engine: Engine) -> None:
    order_id = _order(engine, "1", last_change=NOW - 15 * DAY, tracking=False, **COMPLETED_REPORTED)
    with session_scope(engine) as session:  # an ORM write of None stores JSON null, not SQL NULL
        orders.update_order(session, order_id=order_id, mapped_json=None, pushed_draft=None)
        session.execute(sa.update(Order).where(Order.id == order_id).values(updated_at=NOW - 15 * DAY))
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT CAST(pushed_draft AS TEXT) FROM orders")).scalar_one()

    with session_scope(engine) as session:
        listed = orders.list_finished_with_personal_data(session, finished_before=NOW - 14 * DAY)

    assert stored == "null"  # the case this guards against is real on this database
    assert listed == []
