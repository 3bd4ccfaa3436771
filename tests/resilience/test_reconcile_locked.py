"""Reconcile skips an order locked by a (killed) worker, says so, finishes; the next run adopts it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.sync.conftest import ContextFactory, mapped_order
from tests.sync.fake_picqer import FakePicqer, timeout
from worker.db import orders
from worker.db.session import session_scope
from worker.errors import OutcomeUnknown
from worker.infra.locks import RedisOrderLocks
from worker.sync.push import push_order
from worker.sync.reconcile import reconcile


def test_reconcile_skips_a_locked_order_and_adopts_it_next_run(
    make_ctx: ContextFactory, fake: FakePicqer, redis_client: Any
) -> None:
    ctx = make_ctx()
    locks = RedisOrderLocks(redis_client, namespace=ctx.settings.redis_namespace, wait=0.1, ttl=60)
    ctx.order_lock = locks
    fake.fail("POST", "orders", timeout, after_write=True)
    with pytest.raises(OutcomeUnknown):
        push_order(ctx, mapped_order("1001"))
    # a worker took the lock and was SIGKILLed: nobody releases it
    killed = locks("shop", "id-1001")
    killed.__enter__()

    with capture_logs() as logs:
        first = reconcile(ctx, since=datetime(2026, 3, 1))

    assert first.adopted == 0
    assert first.unknown == 0
    assert len(first.skipped_locked) == 1
    assert any(entry["event"] == "reconcile_skipped_locked_order" for entry in logs)

    killed.__exit__(None, None, None)  # the lease ran out
    second = reconcile(ctx)  # from the stored cursor: the skipped order is read again
    assert second.adopted == 1
    assert second.skipped_locked == []
    with session_scope(ctx.engine) as session:
        row = orders.get_order(session, source="shop", shop_order_id="id-1001")
        assert row is not None
        assert row.idorder is not None
