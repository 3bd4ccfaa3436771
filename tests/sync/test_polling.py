"""``poll_source``: the cursor, the overlap window, 429s and deferred orders.

The shop is an in-memory listing of the Shopify simulator's demo orders (so a test decides where
the listing breaks); pushes go to the Picqer sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from adapters.registry import get_platform
from sandbox.app import create_sandbox_app
from tests.queue.fakes import make_settings
from tests.support.liveserver import serve
from worker.app import build_app
from worker.config import PicqerSettings, SourceSettings
from worker.db import cursors
from worker.db.migrate import upgrade_database
from worker.db.session import make_engine, session_scope
from worker.errors import RateLimited, TransientError
from worker.sync.context import SyncContext
from worker.sync.polling import DEFAULT_START_LOOKBACK, poll_source

SHOPIFY = get_platform("shopify")
START = datetime(2026, 3, 1, 12, 0, 0)


class ListedShop:
    """Hands out ``orders``; raises ``error`` after ``fail_after`` of them (None: never)."""

    primary_key = "id"

    def __init__(self, orders: list[dict[str, Any]], *, error: Exception | None = None, fail_after: int = 0):
        self.orders = orders
        self.error = error
        self.fail_after = fail_after
        self.since: list[datetime | None] = []
        self.closed = False

    def iter_orders(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        self.since.append(since)
        for index, order in enumerate(self.orders):
            if self.error is not None and index == self.fail_after:
                raise self.error
            yield order
        if self.error is not None and self.fail_after >= len(self.orders):
            raise self.error

    def close(self) -> None:
        self.closed = True


class Clock:
    """START, then a second later at every call: the run's start is the first reading."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        moment = self.now
        self.now += timedelta(seconds=1)
        return moment


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with serve(create_sandbox_app(rate_limit=None, seed=True)) as base:
        yield base


@pytest.fixture
def ctx(sandbox_url: str, tmp_path: Path) -> Iterator[SyncContext]:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    database_url = f"sqlite:///{tmp_path / 'mirror.db'}"
    upgrade_database(database_url)
    engine = make_engine(database_url)
    settings = make_settings(
        database_url=database_url,
        picqer=PicqerSettings(url=f"{sandbox_url}/picqer/api/v1/", api_key=SecretStr("key")),
    )
    with build_app(settings, engine=engine, clock=Clock()) as app:
        yield app.context
    engine.dispose()


@pytest.fixture
def demo_orders(sandbox_url: str) -> list[dict[str, Any]]:
    """The Shopify demo shop's orders, in the REST shape (#1001 ... #1006; #1004 unpaid)."""
    return list(httpx.get(f"{sandbox_url}/_sandbox/shopify/shops/demo-shop/orders").json()["orders"])


def source(ctx: SyncContext) -> SourceSettings:
    return ctx.settings.source("shop-nl")


def poll(ctx: SyncContext, shop: ListedShop, deferred: list[tuple[str, str]] | None = None) -> Any:
    return poll_source(
        ctx,
        source(ctx),
        platform=SHOPIFY,
        open_source=lambda _settings: shop,  # type: ignore[arg-type,return-value]
        defer_push=lambda name, order_id: (deferred if deferred is not None else []).append((name, order_id)),
    )


def cursor_position(engine: Engine) -> datetime | None:
    with session_scope(engine) as session:
        cursor = cursors.get_cursor(session, source="shop-nl")
        return cursor.position if cursor else None


def picqer_references(sandbox_url: str) -> list[str]:
    return sorted(order["reference"] for order in httpx.get(f"{sandbox_url}/_sandbox/picqer/orders").json())


def test_a_full_listing_moves_the_cursor_to_the_run_start(
    ctx: SyncContext, demo_orders: list[dict[str, Any]], sandbox_url: str
) -> None:
    shop = ListedShop(demo_orders)
    summary = poll(ctx, shop)

    assert shop.since == [START - DEFAULT_START_LOOKBACK]  # no cursor yet: the default start bound
    assert (summary.seen, summary.pushed, summary.failed, summary.deferred) == (6, 4, 0, 0)
    assert picqer_references(sandbox_url) == ["#1001", "#1002", "#1003", "#1006"]
    assert cursor_position(ctx.engine) == START  # the start, not the (later) end of the run
    assert shop.closed


def test_the_next_poll_reads_back_over_the_overlap_window(
    ctx: SyncContext, demo_orders: list[dict[str, Any]]
) -> None:
    poll(ctx, ListedShop(demo_orders))
    second = ListedShop(demo_orders[:1])
    summary = poll(ctx, second)

    overlap = timedelta(seconds=source(ctx).poll_overlap_seconds)
    assert second.since == [START - overlap]
    assert summary.since == START - overlap
    assert summary.pushed == 0  # #1001 again: a no-op
    assert cursor_position(ctx.engine) == START + timedelta(seconds=2)  # the second run's start


def test_a_listing_that_breaks_off_leaves_the_cursor(
    ctx: SyncContext, demo_orders: list[dict[str, Any]]
) -> None:
    shop = ListedShop(demo_orders, error=TransientError("shopify server error 502", status=502), fail_after=2)

    with pytest.raises(TransientError):
        poll(ctx, shop)

    assert cursor_position(ctx.engine) is None
    assert shop.closed


def test_a_429_the_source_cannot_wait_out_ends_the_poll_with_the_cursor_unmoved(
    ctx: SyncContext, demo_orders: list[dict[str, Any]], sandbox_url: str
) -> None:
    poll(ctx, ListedShop(demo_orders[:1]))
    before = cursor_position(ctx.engine)
    deferred: list[tuple[str, str]] = []
    shop = ListedShop(
        demo_orders, error=RateLimited("shopify rate limit", retry_after=2.0, status=429), fail_after=3
    )

    with pytest.raises(RateLimited):
        poll(ctx, shop, deferred)

    assert cursor_position(ctx.engine) == before
    assert deferred == []  # the actor comes back after the wait; nothing handed out one by one
    assert picqer_references(sandbox_url) == ["#1001", "#1002", "#1003"]  # what was read is pushed


def test_a_picqer_429_ends_the_poll_too(
    ctx: SyncContext, demo_orders: list[dict[str, Any]], sandbox_url: str
) -> None:
    rule = {"kind": "error", "status": 429, "method": "POST", "path": "/orders", "count": 1}
    httpx.post(f"{sandbox_url}/_sandbox/picqer/faults", json=rule).raise_for_status()
    deferred: list[tuple[str, str]] = []

    with pytest.raises(RateLimited):
        poll(ctx, ListedShop(demo_orders), deferred)

    assert cursor_position(ctx.engine) is None
    assert deferred == []


def test_a_retriable_error_on_one_order_defers_just_that_order(
    ctx: SyncContext, demo_orders: list[dict[str, Any]], sandbox_url: str
) -> None:
    # the first create answers 500: its outcome is unknown, so that order is retried on its own
    rule = {"kind": "error", "status": 500, "method": "POST", "path": "/orders", "count": 1}
    httpx.post(f"{sandbox_url}/_sandbox/picqer/faults", json=rule).raise_for_status()
    deferred: list[tuple[str, str]] = []

    summary = poll(ctx, ListedShop(demo_orders), deferred)

    first = str(demo_orders[0]["id"])
    assert deferred == [("shop-nl", first)]
    assert (summary.seen, summary.pushed, summary.deferred) == (6, 3, 1)
    assert picqer_references(sandbox_url) == ["#1002", "#1003", "#1006"]
    assert cursor_position(ctx.engine) == START  # the deferred order has its own retry


def test_a_configured_start_at_bounds_the_first_poll_and_status_shows_it(
    ctx: SyncContext, demo_orders: list[dict[str, Any]]
) -> None:
    from worker.receiver.status import build_status_report

    bound = START - timedelta(days=30)
    shop = ListedShop(demo_orders[:1])
    poll_source(
        ctx,
        source(ctx).model_copy(update={"start_at": bound}),
        platform=SHOPIFY,
        open_source=lambda _settings: shop,  # type: ignore[arg-type,return-value]
        defer_push=lambda name, order_id: None,
    )

    assert shop.since == [bound]
    with session_scope(ctx.engine) as session:
        cursor = cursors.get_cursor(session, source="shop-nl")
        assert cursor is not None
        assert cursor.start_at == bound
    # without start_at in the settings, status shows the bound the first poll recorded
    [shown] = [s for s in build_status_report(ctx.settings, ctx.engine).sources if s.name == "shop-nl"]
    assert shown.start_at == bound
