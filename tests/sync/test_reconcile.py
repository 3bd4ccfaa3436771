"""reconcile: Picqer's open and recently changed orders repair the mirror."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.sync.conftest import ContextFactory, mapped_order
from tests.sync.fake_picqer import FakePicqer, server_error, timeout
from worker.db import orders
from worker.db.models import SyncStep
from worker.db.session import session_scope
from worker.errors import OutcomeUnknown
from worker.sync.failures import retry_order
from worker.sync.outcomes import PushKind
from worker.sync.push import push_order
from worker.sync.reconcile import reconcile


def test_reconcile_adopts_a_lost_create_and_moves_statuses_forward(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()
    shipped = push_order(ctx, mapped_order("1000"))
    fake.set_status(shipped.idorder, "completed")  # type: ignore[arg-type]  # its hook was lost
    fake.fail("POST", "orders", timeout, after_write=True)
    with pytest.raises(OutcomeUnknown):
        push_order(ctx, mapped_order("1001"))

    summary = reconcile(ctx, since=datetime(2026, 3, 1))

    assert summary.adopted == 1
    assert summary.newly_completed == [shipped.order_id]
    with session_scope(ctx.engine) as session:
        lost = orders.get_order(session, source="shop", shop_order_id="id-1001")
        assert lost is not None
        assert lost.idorder is not None
        assert lost.sync_step == SyncStep.CREATED
    assert summary.to_resume == [lost.id]
    fake.requests.clear()
    resumed = retry_order(ctx, order_id=lost.id)  # type: ignore[arg-type]
    assert resumed.kind is PushKind.PUSHED
    assert fake.count("POST", "orders") - fake.count("POST", "orders/") == 0  # no second create
    assert len(fake.live_orders("#1001")) == 1


def test_reconcile_twice_changes_nothing_the_second_time(make_ctx: ContextFactory, fake: FakePicqer) -> None:
    ctx = make_ctx()
    push_order(ctx, mapped_order())

    first = reconcile(ctx)
    second = reconcile(ctx)

    assert first.seen == second.seen == 1
    assert second.updated == 0
    assert second.since is not None  # the cursor from the first run


def test_the_first_reconcile_finds_an_order_completed_before_it_ever_ran(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()
    ctx.clock = lambda: datetime(2026, 3, 2, 9, 0, 0)  # a day after the fake Picqer's orders
    shipped = push_order(ctx, mapped_order("1000"))
    fake.set_status(shipped.idorder, "completed")  # type: ignore[arg-type]  # and its hook was lost

    summary = reconcile(ctx)  # no cursor yet, and the order is no longer open

    assert summary.newly_completed == [shipped.order_id]


def test_a_5xx_on_one_page_is_retried_without_losing_the_run(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()
    shipped = push_order(ctx, mapped_order("1000"))
    fake.set_status(shipped.idorder, "completed")  # type: ignore[arg-type]  # its hook was lost
    fake.fail("GET", "orders", server_error)  # the next listing page answers 500 once

    summary = reconcile(ctx, since=datetime(2026, 3, 1))

    assert summary.newly_completed == [shipped.order_id]
