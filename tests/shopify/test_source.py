"""ShopifySource over GraphQL: incremental listing in cursor pages, the shared cost bucket, 429s."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.shared import MemoryStore
from adapters.shopify.source import ShopifySource
from sandbox.shopify.templates import template
from tests.shopify.conftest import SHOP, Sandbox
from worker.config import SourceSettings
from worker.errors import ApiRejected, AuthenticationFailed, ConfigError, RateLimited

SETTINGS = SourceSettings(
    name="shop-nl", platform="shopify", url="https://s.myshopify.com", access_token="tok"
)


def mock_source(handler: httpx.MockTransport, sleeps: list[float]) -> ShopifySource:
    return ShopifySource(SETTINGS, transport=handler, sleep=sleeps.append, shared=MemoryStore())


def create_orders(sandbox: Sandbox, count: int) -> list[int]:
    ids = []
    for _ in range(count):
        ids.append(sandbox.sim.create_order(SHOP, template("tshirt"))["id"])
        sandbox.clock.advance(timedelta(seconds=5))
    return ids


def test_every_order_once_across_pages_while_orders_change(sandbox: Sandbox) -> None:
    ids = create_orders(sandbox, 10)
    source = sandbox.source()
    source.page_size = 3
    listing = source.iter_orders(None)
    seen = [next(listing)["id"] for _ in range(3)]  # the first page
    # While the client pages: an order it read moves to the end (offset paging would now skip one),
    # an order it has not read yet changes, and a new order arrives.
    sandbox.sim.edit(SHOP, ids[0], {"note": "changed after it was read"})
    sandbox.sim.cancel(SHOP, ids[5])
    new = sandbox.sim.create_order(SHOP, template("mug"))["id"]
    seen += [order["id"] for order in listing]
    assert len(seen) == len(set(seen))  # each once
    assert set(seen) == {*ids, new}  # none skipped, cancelled included (status=any)


def test_listing_resumes_from_a_cursor(sandbox: Sandbox) -> None:
    old = create_orders(sandbox, 3)
    since = sandbox.clock.now()
    recent = create_orders(sandbox, 2)
    sandbox.clock.advance(timedelta(minutes=1))
    sandbox.sim.pay(SHOP, sandbox.sim.create_order(SHOP, template("ipod"), financial_status="pending")["id"])
    sandbox.sim.edit(SHOP, old[1], {"note": "touched"})  # an old order changed after the cursor
    got = [order["id"] for order in sandbox.source().iter_orders(since)]
    assert set(recent) <= set(got)
    assert old[1] in got
    assert old[0] not in got
    assert old[2] not in got
    assert len(got) == 4


def graphql_answer(data: dict[str, Any], *, available: float = 1000.0, requested: int = 50) -> httpx.Response:
    cost = {
        "requestedQueryCost": requested,
        "actualQueryCost": requested,
        "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": available, "restoreRate": 50.0},
    }
    return httpx.Response(200, json={"data": data, "extensions": {"cost": cost}})


def order_node(number: int) -> dict[str, Any]:
    return {"id": f"gid://shopify/Order/{number}", "legacyResourceId": str(number), "name": f"#{number}"}


def test_throttled_answers_wait_for_the_missing_points(sandbox: Sandbox) -> None:
    order_id = create_orders(sandbox, 1)[0]
    sandbox.sim.configure(SHOP, cost_maximum=1000, cost_restore=50)
    sandbox.sim.shop(SHOP).cost.available = 10  # another worker of the app drained the bucket
    order = sandbox.source().get_order(str(order_id))
    assert order["id"] == order_id
    assert len(sandbox.sleeps) == 1
    assert sandbox.sleeps[0] > 0  # waited for the points it lacked, then went through


def test_workers_sharing_the_bucket_wait_before_sending() -> None:
    store = MemoryStore()
    sent: list[float] = []
    clock = [1000.0]

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock[0])
        return graphql_answer({"order": order_node(7)}, available=20.0, requested=100)

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    def worker() -> ShopifySource:
        return ShopifySource(
            SETTINGS,
            transport=httpx.MockTransport(handler),
            sleep=sleep,
            shared=store,
            clock=lambda: clock[0],
        )

    worker().get_order("7")  # learns the bucket holds 20 points, restoring 50 a second
    worker().get_order("7")  # another process: the shared status says wait for 80 more points (1.6 s)
    assert sent[1] - sent[0] == pytest.approx(1.6)


def test_429_waits_retry_after_or_one_second() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "1.5"}, json={"errors": "Exceeded"}),
            httpx.Response(429, json={"errors": "Exceeded"}),
            graphql_answer({"order": order_node(7)}),
        ]
    )
    sleeps: list[float] = []
    source = mock_source(httpx.MockTransport(lambda request: next(answers)), sleeps)
    assert source.get_order("7")["id"] == 7
    assert sleeps == [1.5, 1.0]


def test_gives_up_after_repeated_429s() -> None:
    sleeps: list[float] = []
    throttled = httpx.MockTransport(lambda request: httpx.Response(429, headers={"Retry-After": "2.0"}))
    with pytest.raises(RateLimited) as caught:
        mock_source(throttled, sleeps).get_order("7")
    assert caught.value.retry_after == 2.0
    assert sleeps == [2.0] * 4


def test_first_page_variables_then_the_end_cursor() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        assert request.url.path == "/admin/api/2026-07/graphql.json"
        assert request.headers["X-Shopify-Access-Token"] == "tok"
        if len(seen) == 1:
            page = {"pageInfo": {"hasNextPage": True, "endCursor": "c1"}, "nodes": [order_node(1)]}
        else:
            page = {
                "pageInfo": {"hasNextPage": False, "endCursor": "c2"},
                "nodes": [order_node(2), order_node(1)],
            }
        return graphql_answer({"orders": page})

    since = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    got = list(mock_source(httpx.MockTransport(handler), []).iter_orders(since))
    assert [order["id"] for order in got] == [1, 2]  # an order met twice is yielded once
    # a small first page (a poll mostly finds a few orders), then full pages after the cursor: as
    # many orders as fit in 800 points at what the first page cost per order (50 for 3 orders)
    assert seen[0]["variables"] == {"first": 3, "query": "updated_at:>='2026-03-01T12:30:00Z'"}
    assert seen[1]["variables"] == {**seen[0]["variables"], "after": "c1", "first": int(800 // (50 / 3))}
    assert "sortKey: UPDATED_AT" in seen[0]["query"]


def two_pages(seen: list[dict[str, Any]], *, stated: bool = True) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        more = len(seen) == 1
        page = {
            "pageInfo": {"hasNextPage": more, "endCursor": f"c{len(seen)}"},
            "nodes": [order_node(len(seen))],
        }
        answer = graphql_answer({"orders": page}, requested=3 * 200)
        if not stated:
            answer = httpx.Response(200, json={"data": {"orders": page}})
        return answer

    return httpx.MockTransport(handler)


def test_pages_fit_the_stated_cost_unless_a_page_size_was_given() -> None:
    seen: list[dict[str, Any]] = []
    list(mock_source(two_pages(seen), []).iter_orders(None))
    assert [body["variables"]["first"] for body in seen] == [3, 4]  # 200 points an order: 4 fit in 800
    seen.clear()
    list(mock_source(two_pages(seen, stated=False), []).iter_orders(None))
    assert [body["variables"]["first"] for body in seen] == [3, 10]  # nothing stated: the default size
    seen.clear()
    source = mock_source(two_pages(seen), [])
    source.page_size = 7
    list(source.iter_orders(None))
    assert [body["variables"]["first"] for body in seen] == [3, 7]


def test_user_facing_errors_of_an_answer_are_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "errors": [
                    {"message": "Access denied for orders field.", "extensions": {"code": "ACCESS_DENIED"}}
                ]
            },
        )

    with pytest.raises(AuthenticationFailed, match="access scope"):
        mock_source(httpx.MockTransport(handler), []).get_order("7")


def test_an_unknown_order_is_a_404(sandbox: Sandbox) -> None:
    with pytest.raises(ApiRejected) as caught:
        sandbox.source().get_order("123")
    assert caught.value.status == 404


def test_orders_with_more_lines_than_the_first_page_come_whole(sandbox: Sandbox) -> None:
    lines = [{"title": f"Item {n}", "sku": f"SKU-{n}", "price": "1.00"} for n in range(23)]
    order = sandbox.sim.create_order(SHOP, {**template("tshirt"), "line_items": lines})
    fetched = sandbox.source().get_order(str(order["id"]))
    assert [line["sku"] for line in fetched["line_items"]] == [f"SKU-{n}" for n in range(23)]
    [listed] = list(sandbox.source().iter_orders(None))
    assert len(listed["line_items"]) == 23


def test_wrong_token_and_missing_token(sandbox: Sandbox) -> None:
    sandbox.sim.configure(SHOP, access_token="shpat_right")
    with pytest.raises(AuthenticationFailed):
        list(sandbox.source(access_token="shpat_wrong").iter_orders(None))
    with pytest.raises(ConfigError, match="access_token"):
        sandbox.source(access_token=None)
