"""ShopifySource: incremental listing over Link-header pages, the leaky bucket, 429s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.shopify.source import ShopifySource
from sandbox.shopify.templates import template
from tests.shopify.conftest import SHOP, Sandbox
from worker.config import SourceSettings
from worker.errors import AuthenticationFailed, ConfigError, RateLimited

SETTINGS = SourceSettings(
    name="shop-nl", platform="shopify", url="https://s.myshopify.com", access_token="tok"
)


def mock_source(handler: httpx.MockTransport, sleeps: list[float]) -> ShopifySource:
    return ShopifySource(SETTINGS, transport=handler, sleep=sleeps.append)


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


def test_waits_retry_after_when_the_bucket_is_full(sandbox: Sandbox) -> None:
    order_id = create_orders(sandbox, 1)[0]
    api = f"/shopify/{SHOP}/admin/api/2026-07/orders/{order_id}.json"
    for _ in range(40):  # another worker of the app empties the bucket (the clock stands still)
        assert sandbox.client.get(api, headers={"X-Shopify-Access-Token": "x"}).status_code == 200
    throttled = sandbox.client.get(api, headers={"X-Shopify-Access-Token": "x"})
    assert throttled.status_code == 429
    assert throttled.headers["X-Shopify-Shop-Api-Call-Limit"] == "40/40"
    retry_after = float(throttled.headers["Retry-After"])

    order = sandbox.source().get_order(str(order_id))
    assert order["id"] == order_id
    assert sandbox.sleeps[0] == retry_after  # waited exactly what Shopify asked
    assert sandbox.sleeps[1] > 0  # then slowed down: the bucket is still nearly full


def test_429_waits_retry_after_or_one_second() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "1.5"}, json={"errors": "Exceeded"}),
            httpx.Response(429, json={"errors": "Exceeded"}),
            httpx.Response(200, json={"order": {"id": 7}}),
        ]
    )
    sleeps: list[float] = []
    source = mock_source(httpx.MockTransport(lambda request: next(answers)), sleeps)
    assert source.get_order("7") == {"id": 7}
    assert sleeps == [1.5, 1.0]


def test_gives_up_after_repeated_429s() -> None:
    sleeps: list[float] = []
    throttled = httpx.MockTransport(lambda request: httpx.Response(429, headers={"Retry-After": "2.0"}))
    with pytest.raises(RateLimited) as caught:
        mock_source(throttled, sleeps).get_order("7")
    assert caught.value.retry_after == 2.0
    assert sleeps == [2.0] * 4


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("1/40", 0.0),
        ("32/40", 0.0),
        ("36/40", 2.0),
        ("39/40", 3.5),
        ("400/400", 4.0),
        ("bad", 0.0),
        (None, 0.0),
    ],
)
def test_bucket_wait(header: str | None, wait: float) -> None:
    assert ShopifySource.bucket_wait(header) == pytest.approx(wait)


def test_first_page_params_then_the_link_url_exactly() -> None:
    next_url = "https://s.myshopify.com/admin/api/2026-07/orders.json?limit=250&page_info=eyJrIjoxfQ%3D%3D"
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(
                200, json={"orders": [{"id": 1}]}, headers={"Link": f'<{next_url}>; rel="next"'}
            )
        return httpx.Response(200, json={"orders": [{"id": 2}]})

    since = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    got = list(mock_source(httpx.MockTransport(handler), []).iter_orders(since))
    assert [order["id"] for order in got] == [1, 2]
    first = seen[0]
    assert first.url.path == "/admin/api/2026-07/orders.json"
    assert dict(first.url.params) == {
        "status": "any",
        "limit": "250",
        "order": "updated_at asc",
        "updated_at_min": "2026-03-01T12:30:00+00:00",
    }
    assert first.headers["X-Shopify-Access-Token"] == "tok"
    assert str(seen[1].url) == next_url  # page_info untouched, no filter added


def test_wrong_token_and_missing_token(sandbox: Sandbox) -> None:
    sandbox.sim.configure(SHOP, access_token="shpat_right")
    with pytest.raises(AuthenticationFailed):
        list(sandbox.source(access_token="shpat_wrong").iter_orders(None))
    with pytest.raises(ConfigError, match="access_token"):
        sandbox.source(access_token=None)
