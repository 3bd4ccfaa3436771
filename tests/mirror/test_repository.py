"""Repository functions keep their promises on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from worker.db import cursors, inbox, orders
from worker.db.models import SyncState
from worker.db.session import session_scope


def _ensure(engine: Engine, shop_order_id: str = "1001") -> int:
    with session_scope(engine) as session:
        row = orders.ensure_order(
            session,
            source="shop",
            shop_order_id=shop_order_id,
            shop_order_number="#" + shop_order_id,
            reference="#" + shop_order_id,
        )
        assert row.id is not None
        return row.id


def test_ensure_order_returns_the_same_row_twice(engine: Engine) -> None:
    first = _ensure(engine)
    second = _ensure(engine)
    other = _ensure(engine, "1002")

    assert first == second
    assert other != first


def test_inbox_stores_an_event_once_per_source(engine: Engine) -> None:
    with session_scope(engine) as session:
        stored = inbox.store_inbox_event(
            session, source="picqer", event_key="k1", topic="orders.completed", payload="{}"
        )
        duplicate = inbox.store_inbox_event(
            session, source="picqer", event_key="k1", topic="orders.completed", payload="{}"
        )
        other_source = inbox.store_inbox_event(
            session, source="shop", event_key="k1", topic="orders/paid", payload="{}"
        )

    assert stored is not None
    assert duplicate is None
    assert other_source is not None
    with session_scope(engine) as session:
        later = datetime.now() + timedelta(days=1)
        assert {event.source for event in inbox.list_unprocessed(session, received_before=later)} == {
            "picqer",
            "shop",
        }
        assert stored.id is not None
        inbox.mark_inbox_processed(session, inbox_id=stored.id)
    with session_scope(engine) as session:
        assert [event.source for event in inbox.list_unprocessed(session, received_before=later)] == ["shop"]


def test_cursor_never_moves_backwards(engine: Engine) -> None:
    early, late = datetime(2026, 1, 1), datetime(2026, 1, 2)
    with session_scope(engine) as session:
        cursors.set_cursor(session, source="shop", position=late)
    with session_scope(engine) as session:
        cursors.set_cursor(session, source="shop", position=early)
    with session_scope(engine) as session:
        cursor = cursors.get_cursor(session, source="shop")
        assert cursor is not None
        assert cursor.position == late


def test_reset_for_retry_touches_only_the_named_failed_orders(engine: Engine) -> None:
    failed_a, failed_b, synced = _ensure(engine, "1"), _ensure(engine, "2"), _ensure(engine, "3")
    with session_scope(engine) as session:
        for order_id in (failed_a, failed_b):
            orders.update_order(
                session,
                order_id=order_id,
                sync_state=SyncState.FAILED,
                last_error="boom",
                failed_step="creating",
                sync_step="creating",
            )
        orders.update_order(session, order_id=synced, sync_state=SyncState.SYNCED)

    with session_scope(engine) as session:
        reset = orders.reset_for_retry(session, order_ids=[failed_a, synced])

    assert [row.id for row in reset] == [failed_a]
    with session_scope(engine) as session:
        row = orders.get_order_by_id(session, order_id=failed_a)
        assert row is not None
        assert (row.sync_state, row.last_error, row.sync_step) == (SyncState.PENDING, None, "creating")
        assert [row.id for row in orders.list_failed_orders(session)] == [failed_b]
