"""The Picqer index: when a first push trusts it (no look-up), and when it looks up or refreshes first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from adapters.picqer.client import PicqerClient
from tests.sync.conftest import ContextFactory, mapped_order
from tests.sync.fake_picqer import BASE_URL, FakePicqer
from worker.db import picqer_index
from worker.db.session import session_scope
from worker.sync.context import SyncContext
from worker.sync.outcomes import PushKind
from worker.sync.picqer_index import IMPORT_LOOKBACK, MAX_AGE, Verdict, check_reference
from worker.sync.push import push_order
from worker.sync.reconcile import reconcile


class Recorded:
    """The fake Picqer behind a client that keeps each request's query (the fake keeps paths only)."""

    def __init__(self, fake: FakePicqer) -> None:
        self.fake = fake
        self.urls: list[httpx.URL] = []  # GET requests only

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            self.urls.append(request.url)
        return self.fake.handle(request)

    def client(self) -> PicqerClient:
        return PicqerClient(BASE_URL, "test-key", transport=httpx.MockTransport(self.handle))

    def order_listings(self) -> list[dict[str, str]]:
        return [dict(url.params) for url in self.urls if url.path.endswith("/orders")]


def _ctx(make_ctx: ContextFactory, recorded: Recorded) -> SyncContext:
    return make_ctx(picqer=recorded.client())


def test_the_first_push_builds_the_index_and_later_ones_trust_it(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    recorded = Recorded(fake)
    ctx = _ctx(make_ctx, recorded)

    push_order(ctx, mapped_order("1000"))
    listings = recorded.order_listings()
    assert {"sincedate", "offset"} in [set(params) for params in listings]  # the bulk import
    assert not any("reference" in params for params in listings)  # nothing to look up: an empty account
    recorded.urls.clear()

    assert push_order(ctx, mapped_order("1001")).kind is PushKind.PUSHED
    assert recorded.order_listings() == []
    assert (
        check_reference(ctx, "#1001", shop_created_at=datetime.now(UTC).replace(tzinfo=None)) is Verdict.KNOWN
    )


def test_a_shop_order_older_than_the_index_window_is_looked_up_first(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    recorded = Recorded(fake)
    ctx = _ctx(make_ctx, recorded)
    push_order(ctx, mapped_order("1000"))
    recorded.urls.clear()

    old = datetime.now(UTC) - IMPORT_LOOKBACK - timedelta(days=3)
    assert push_order(ctx, mapped_order("1001", created=old)).kind is PushKind.PUSHED

    assert [params.get("reference") for params in recorded.order_listings()] == ["#1001"]


def test_a_stale_index_is_refreshed_once_before_it_is_trusted(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    recorded = Recorded(fake)
    ctx = _ctx(make_ctx, recorded)
    push_order(ctx, mapped_order("1000"))
    with session_scope(ctx.engine) as session:
        state = picqer_index.get_state(session)
        assert state is not None
        assert state.refreshed_at is not None
        picqer_index.save_state(session, refreshed_at=state.refreshed_at - MAX_AGE - timedelta(minutes=1))
    recorded.urls.clear()

    push_order(ctx, mapped_order("1001"))
    push_order(ctx, mapped_order("1002"))

    assert [set(params) for params in recorded.order_listings()] == [{"sinceid", "offset"}]


def test_an_order_made_by_hand_after_the_index_was_built_is_found_by_a_new_process(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    first = make_ctx()
    push_order(first, mapped_order("1000"))
    by_hand = mapped_order("1001").draft
    assert by_hand is not None
    made = fake.client().create_order(by_hand.create_payload()).idorder

    outcome = push_order(make_ctx(), mapped_order("1001"))  # another process: it refreshes first

    assert outcome.idorder == made
    assert len(fake.live_orders("#1001")) == 1


def test_reconcile_builds_the_index_and_records_what_it_reads(
    make_ctx: ContextFactory, fake: FakePicqer
) -> None:
    other = mapped_order("1001").draft
    assert other is not None
    made = fake.client().create_order(other.create_payload()).idorder
    ctx = make_ctx()

    summary = reconcile(ctx)

    assert summary.unknown == 1  # not ours yet: no shop order asked for it
    with session_scope(ctx.engine) as session:
        assert picqer_index.has_order(session, idorder=made)
        assert picqer_index.has_live_reference(session, reference="#1001")
    assert push_order(ctx, mapped_order("1001")).idorder == made
