"""push_order: create -> tags -> process, exactly once, resumable, with readable failures."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from adapters.draft import ShopOrderState
from tests.sync.conftest import ContextFactory, mapped_order
from tests.sync.fake_picqer import FakePicqer, server_error, timeout
from worker.db import orders
from worker.db.models import SyncState, SyncStep
from worker.db.session import session_scope
from worker.errors import OutcomeUnknown, TransientError
from worker.sync.failures import list_failures, retry_failures
from worker.sync.outcomes import PushKind
from worker.sync.push import push_order


def _row(ctx, number: str = "1001"):  # type: ignore[no-untyped-def]
    with session_scope(ctx.engine) as session:
        return orders.get_order(session, source="shop", shop_order_id=f"id-{number}")


def test_happy_path_creates_tags_and_processes_with_two_plus_tags_requests(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()
    first = push_order(ctx, mapped_order("1001"))  # warms the tag cache: lists tags, creates two
    assert fake.count("GET", "tags") == 1
    assert fake.count("POST", "tags") == 2
    fake.requests.clear()

    outcome = push_order(ctx, mapped_order("1002", tags=("shop", "vip")))

    assert first.kind is PushKind.PUSHED
    assert outcome.kind is PushKind.PUSHED
    assert len(fake.requests) == 2 + 2
    assert [method for method, _ in fake.requests] == ["POST", "POST", "POST", "POST"]
    picqer = fake.orders[outcome.idorder]  # type: ignore[index]
    assert picqer["status"] == "processing"
    assert sorted(picqer["_tags"].values()) == ["shop", "vip"]
    row = _row(ctx, "1002")
    assert (row.sync_state, row.sync_step, row.idorder) == (
        SyncState.SYNCED,
        SyncStep.PROCESSED,
        outcome.idorder,
    )
    with session_scope(ctx.engine) as session:
        assert [line.productcode for line in orders.list_lines(session, order_id=row.id)] == ["SKU-1"]


def test_the_same_order_again_is_unchanged_and_sends_nothing(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()
    push_order(ctx, mapped_order())
    fake.requests.clear()

    again = push_order(ctx, mapped_order())

    assert again.kind is PushKind.UNCHANGED
    assert fake.requests == []


def _three_concurrent_pushes(make_ctx: ContextFactory, fake: FakePicqer, redis: object) -> None:
    fake.create_delay = 0.2
    contexts = [make_ctx(redis=redis) for _ in range(3)]
    outcomes = []
    barrier = threading.Barrier(3)

    def worker(ctx):  # type: ignore[no-untyped-def]
        barrier.wait()
        outcomes.append(push_order(ctx, mapped_order()))

    threads = [threading.Thread(target=worker, args=(ctx,)) for ctx in contexts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(fake.live_orders("#1001")) == 1
    assert fake.count("POST", "orders") - fake.count("POST", "orders/") == 1
    assert sorted(o.kind for o in outcomes) == [PushKind.PUSHED, PushKind.UNCHANGED, PushKind.UNCHANGED]


def test_three_concurrent_pushes_of_one_order_make_one_picqer_order(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    _three_concurrent_pushes(make_ctx, fake, redis=None)  # PostgreSQL advisory lock, or SQLite's process lock


def test_three_concurrent_pushes_under_the_redis_lock_make_one_picqer_order(
    make_ctx: ContextFactory, fake: FakePicqer, redis_client: object
) -> None:
    _three_concurrent_pushes(make_ctx, fake, redis=redis_client)


def test_a_timeout_after_picqer_stored_the_create_yields_one_order(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()
    fake.fail("POST", "orders", timeout, after_write=True)

    with pytest.raises(OutcomeUnknown):
        push_order(ctx, mapped_order())
    assert _row(ctx).sync_step == SyncStep.CREATING
    retried = push_order(make_ctx(), mapped_order())

    assert retried.kind is PushKind.PUSHED
    assert len(fake.live_orders("#1001")) == 1
    assert fake.count("GET", "orders") >= 1  # the retry looked the order up by reference
    assert fake.orders[retried.idorder]["status"] == "processing"  # type: ignore[index]


def test_a_first_attempt_makes_no_reference_lookup_once_the_index_is_built(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()
    push_order(ctx, mapped_order("1000"))  # builds the Picqer index (lists the account's orders)
    fake.requests.clear()

    push_order(ctx, mapped_order())

    assert fake.count("GET", "orders") == 0


def test_a_worker_killed_between_create_and_process_resumes_and_finishes(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    def killed(request):  # type: ignore[no-untyped-def]
        raise SystemExit("worker killed")

    push_order(make_ctx(), mapped_order("1000"))  # warm the tag cache
    fake.requests.clear()
    fake.fail("POST", f"orders/{fake._next_id + 1}/tags", killed)  # the next order's first tag

    with pytest.raises(SystemExit):
        push_order(make_ctx(), mapped_order())
    row_before = _row(make_ctx())
    resumed = push_order(make_ctx(), mapped_order())

    assert row_before.sync_step == SyncStep.TAGGING
    assert row_before.idorder is not None
    assert resumed.kind is PushKind.PUSHED
    assert resumed.idorder == row_before.idorder
    assert fake.count("POST", "orders") - fake.count("POST", "orders/") == 1
    picqer = fake.orders[row_before.idorder]
    assert picqer["status"] == "processing"
    assert sorted(picqer["_tags"].values()) == ["shop", "vip"]


def test_an_untagged_order_killed_at_process_resumes_at_process_and_is_created_once(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    def killed(request):  # type: ignore[no-untyped-def]
        raise SystemExit("worker killed")

    fake.fail("POST", f"orders/{fake._next_id + 1}/process", killed)

    with pytest.raises(SystemExit):
        push_order(make_ctx(), mapped_order(tags=()))
    row_before = _row(make_ctx())
    fake.requests.clear()
    resumed = push_order(make_ctx(), mapped_order(tags=()))

    # the create and the tags (none) were recorded with the step after them: the resumed attempt
    # neither looks the order up nor touches tags, it processes
    assert (row_before.sync_step, row_before.idorder) == (SyncStep.PROCESSING, resumed.idorder)
    assert resumed.kind is PushKind.PUSHED
    assert fake.requests == [("POST", f"orders/{resumed.idorder}/process")]
    assert fake.orders[resumed.idorder]["status"] == "processing"  # type: ignore[index]


def test_a_retriable_error_is_raised_after_recording_the_attempt(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()
    fake.fail("POST", f"orders/{fake._next_id + 1}/process", server_error)

    with pytest.raises(TransientError):
        push_order(ctx, mapped_order())

    row = _row(ctx)
    assert (row.sync_state, row.sync_step, row.attempts) == (SyncState.PENDING, SyncStep.PROCESSING, 1)
    assert "500" in (row.last_error or "")
    assert push_order(ctx, mapped_order()).kind is PushKind.PUSHED
    assert _row(ctx).attempts == 2


def test_an_unknown_product_fails_readably_and_leaves_nothing_in_picqer(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()

    outcome = push_order(ctx, mapped_order(skus=("SKU-1", "NOPE-9")))

    assert outcome.kind is PushKind.FAILED
    assert outcome.reason == "product code NOPE-9 is not in Picqer"
    assert fake.orders == {}
    [failure] = list_failures(ctx.engine)
    assert (failure.shop_order_number, failure.step, failure.reason) == ("#1001", "creating", outcome.reason)

    fake.requests.clear()
    assert push_order(ctx, mapped_order(skus=("SKU-1", "NOPE-9"))).kind is PushKind.FAILED
    assert fake.requests == []  # the same failing input is not sent again by itself

    fake.products.add("NOPE-9")
    [retried] = retry_failures(ctx, order_ids=[failure.order_id])
    assert retried.kind is PushKind.PUSHED
    assert list_failures(ctx.engine) == []
    assert len(fake.live_orders("#1001")) == 1


def test_unpaid_and_nothing_to_ship_are_skipped_without_requests(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()

    unpaid = push_order(ctx, mapped_order("1", state=ShopOrderState.UNPAID))
    empty = push_order(ctx, mapped_order("2", state=ShopOrderState.NOTHING_TO_SHIP))

    assert (unpaid.kind, unpaid.reason) == (PushKind.SKIPPED, "unpaid: the shop says unpaid")
    assert (empty.kind, empty.reason) == (PushKind.SKIPPED, "nothing to ship: the shop says nothing_to_ship")
    assert fake.requests == []
    assert _row(ctx, "1").sync_state == SyncState.SKIPPED
    assert push_order(ctx, mapped_order("1")).kind is PushKind.PUSHED  # paid later


def test_an_address_change_is_sent_with_put_and_only_what_changed(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()
    pushed = push_order(ctx, mapped_order())
    fake.requests.clear()

    changed = push_order(ctx, mapped_order(city="Utrecht", remarks="ring twice"))

    assert changed.kind is PushKind.UPDATED
    assert fake.requests == [("PUT", f"orders/{pushed.idorder}")]
    picqer = fake.orders[pushed.idorder]  # type: ignore[index]
    assert (picqer["deliverycity"], picqer["customer_remarks"]) == ("Utrecht", "ring twice")
    assert push_order(ctx, mapped_order(city="Utrecht", remarks="ring twice")).kind is PushKind.UNCHANGED


def test_an_address_change_after_completion_is_a_conflict(make_ctx: ContextFactory, fake: FakePicqer) -> None:
    ctx = make_ctx()
    pushed = push_order(ctx, mapped_order())
    fake.set_status(pushed.idorder, "completed")  # type: ignore[arg-type]
    with session_scope(ctx.engine) as session:
        orders.update_order(session, order_id=pushed.order_id, picqer_status="completed")  # type: ignore[arg-type]

    changed = push_order(ctx, mapped_order(city="Utrecht"))

    assert changed.kind is PushKind.CONFLICT
    assert fake.count("PUT") == 0
    assert _row(ctx).sync_state == SyncState.CONFLICT


def test_an_older_version_of_the_shop_order_changes_nothing(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    ctx = make_ctx()
    push_order(ctx, mapped_order(updated=datetime(2026, 3, 1, 12, tzinfo=UTC)))
    fake.requests.clear()

    late = push_order(ctx, mapped_order(city="Elsewhere", updated=datetime(2026, 3, 1, 11, tzinfo=UTC)))

    assert late.kind is PushKind.UNCHANGED
    assert fake.requests == []


def test_another_shops_order_with_the_same_reference_is_never_adopted(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    # a second shop (or Picqer's own connector) already has a "#1001" with other products
    foreign_ctx = make_ctx()
    foreign = push_order(
        foreign_ctx, mapped_order(skus=("SKU-2",)).model_copy(update={"source": "other-shop"})
    )
    ctx = make_ctx()
    fake.fail("POST", "orders", timeout, after_write=False)  # our create never reached Picqer

    with pytest.raises(OutcomeUnknown):
        push_order(ctx, mapped_order())
    with session_scope(ctx.engine) as session:  # the other shop's row is unknown to this mirror
        other = orders.get_order(session, source="other-shop", shop_order_id="id-1001")
        assert other is not None
        session.delete(other)
    retried = push_order(ctx, mapped_order())

    assert retried.kind is PushKind.PUSHED
    assert retried.idorder != foreign.idorder
    assert len(fake.live_orders("#1001")) == 2
