"""A cancelled shop order cancels, pauses or flags its Picqer order by Picqer's status and the policy."""

from __future__ import annotations

import pytest

from adapters.draft import ShopOrderState
from tests.sync.conftest import ContextFactory, mapped_order
from tests.sync.fake_picqer import FakePicqer, server_error
from worker.errors import TransientError
from worker.sync.outcomes import PushKind
from worker.sync.push import push_order

CANCELLED = mapped_order(state=ShopOrderState.CANCELLED)


def test_a_concept_order_is_cancelled(make_ctx: ContextFactory, fake: FakePicqer) -> None:
    ctx = make_ctx()
    fake.fail("POST", f"orders/{fake._next_id + 1}/process", server_error)
    with pytest.raises(TransientError):
        push_order(ctx, mapped_order())  # created, but left in concept
    [idorder] = fake.orders

    outcome = push_order(ctx, CANCELLED)

    assert outcome.kind is PushKind.CANCELLED
    assert fake.orders[idorder]["status"] == "cancelled"
    assert fake.orders[idorder]["forced"] is False


def test_a_processing_order_is_paused_with_a_reason_by_default(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()
    pushed = push_order(ctx, mapped_order())

    outcome = push_order(ctx, CANCELLED)
    fake.requests.clear()
    again = push_order(ctx, CANCELLED)

    assert outcome.kind is PushKind.PAUSED
    picqer = fake.orders[pushed.idorder]  # type: ignore[index]
    assert picqer["status"] == "paused"
    assert "Cancelled in the shop" in picqer["pause_reason"]
    assert again.kind is PushKind.UNCHANGED
    assert fake.requests == []


def test_a_processing_order_is_force_cancelled_when_configured(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx(on_cancel_processing="force_cancel")
    pushed = push_order(ctx, mapped_order())

    outcome = push_order(ctx, CANCELLED)

    assert outcome.kind is PushKind.CANCELLED
    assert fake.orders[pushed.idorder]["status"] == "cancelled"  # type: ignore[index]
    assert fake.orders[pushed.idorder]["forced"] is True  # type: ignore[index]


def test_a_completed_order_is_a_conflict_for_a_person(make_ctx: ContextFactory, fake: FakePicqer) -> None:
    ctx = make_ctx(on_cancel_processing="force_cancel")
    pushed = push_order(ctx, mapped_order())
    fake.set_status(pushed.idorder, "completed")  # type: ignore[arg-type]

    outcome = push_order(ctx, CANCELLED)

    assert outcome.kind is PushKind.CONFLICT
    assert "completed" in (outcome.reason or "")
    assert fake.orders[pushed.idorder]["status"] == "completed"  # type: ignore[index]


def test_an_order_cancelled_before_its_push_is_skipped(make_ctx: ContextFactory, fake: FakePicqer) -> None:
    outcome = push_order(make_ctx(), CANCELLED)

    assert (outcome.kind, outcome.reason) == (PushKind.SKIPPED, "cancelled: the shop says cancelled")
    assert fake.requests == []
