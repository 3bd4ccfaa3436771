"""MagentoSource against the simulator: keyset paging, total_count, cursors, backoff."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta, timezone

import httpx
import pytest
from fastapi.testclient import TestClient

from adapters.magento.source import MagentoSource
from sandbox.clock import Clock
from sandbox.magento import MagentoSimulator
from tests.magento.conftest import SHOP, START, ClientTransport, SignedByOAuthlib, create_order, settings
from worker.errors import ApiRejected, AuthenticationFailed, ConfigError, RateLimited

MakeSource = Callable[..., MagentoSource]


def seed_orders(
    client: TestClient, clock: Clock, count: int, *, step: timedelta = timedelta(seconds=1)
) -> list[int]:
    ids = []
    for _ in range(count):
        ids.append(create_order(client)["entity_id"])
        clock.advance(step)
    return ids


def order_requests(simulator: MagentoSimulator) -> list[str]:
    return [line for line in simulator.requests if line.startswith("GET /magento/test-shop/rest/V1/orders?")]


def test_base_url_with_and_without_store_code() -> None:
    with MagentoSource(settings()) as plain, MagentoSource(settings(store_code="nl_store")) as scoped:
        assert plain.base_url() == "http://testserver/magento/test-shop/rest/V1/"
        assert scoped.base_url() == "http://testserver/magento/test-shop/rest/nl_store/V1/"


def test_a_source_without_token_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="access_token"):
        MagentoSource(settings(token=""))


def test_lists_every_order_in_updated_order_and_stops_by_total_count(
    client: TestClient, clock: Clock, simulator: MagentoSimulator, make_source: MakeSource
) -> None:
    ids = seed_orders(client, clock, 25)
    orders = list(make_source(page_size=10).iter_orders(None))
    assert [order["entity_id"] for order in orders] == ids
    assert len(order_requests(simulator)) == 3


def test_a_full_last_page_is_not_followed_by_a_request_for_an_empty_one(
    client: TestClient, clock: Clock, simulator: MagentoSimulator, make_source: MakeSource
) -> None:
    seed_orders(client, clock, 20)
    assert len(list(make_source(page_size=10).iter_orders(None))) == 20
    # page 1 says 20 in total, page 2 (10 after the key) holds them all: no third request that
    # Magento would answer with the last page again
    assert len(order_requests(simulator)) == 2


def test_every_order_exactly_once_while_orders_change_during_paging(
    client: TestClient,
    clock: Clock,
    simulator: MagentoSimulator,
    transport: ClientTransport,
    make_source: MakeSource,
) -> None:
    ids = seed_orders(client, clock, 25)
    pages_read = 0

    def change_orders(request: httpx.Request) -> None:
        nonlocal pages_read
        if "/orders" not in request.url.path:
            return
        pages_read += 1
        if pages_read == 1:
            clock.advance(timedelta(minutes=5))
            # one order already read and one not yet read move to the end of the listing
            for order_id in (ids[2], ids[14]):
                comment = {"comment": "address checked", "is_visible_on_front": False}
                client.post(f"/_sandbox/magento/shops/{SHOP}/orders/{order_id}/comments", json=comment)

    transport.after = change_orders
    seen = Counter(order["entity_id"] for order in make_source(page_size=10).iter_orders(None))
    assert sorted(seen) == sorted(ids)
    assert set(seen.values()) == {1}


def test_offset_paging_would_skip_an_order_in_the_same_situation(client: TestClient, clock: Clock) -> None:
    """Why the source pages by key: the simulator shifts pages like Magento does."""
    ids = seed_orders(client, clock, 25)

    def page(number: int) -> list[int]:
        params = {
            "searchCriteria[sortOrders][0][field]": "updated_at",
            "searchCriteria[sortOrders][0][direction]": "ASC",
            "searchCriteria[pageSize]": "10",
            "searchCriteria[currentPage]": str(number),
        }
        answer = client.get(f"/magento/{SHOP}/rest/V1/orders", params=params, auth=SignedByOAuthlib())
        return [order["entity_id"] for order in answer.json()["items"]]

    seen = page(1)
    clock.advance(timedelta(minutes=5))
    client.post(
        f"/_sandbox/magento/shops/{SHOP}/orders/{ids[2]}/comments", json={"comment": "x"}
    )  # read already
    seen += page(2) + page(3)
    assert ids[10] not in seen  # shifted from page 2 onto page 1, which was already read


def test_many_orders_in_one_second_do_not_stall_the_listing(
    client: TestClient, clock: Clock, make_source: MakeSource
) -> None:
    ids = seed_orders(client, clock, 25, step=timedelta(0))
    orders = list(make_source(page_size=10).iter_orders(None))
    assert [order["entity_id"] for order in orders] == ids


def test_resumes_from_a_cursor_including_orders_changed_in_that_second(
    client: TestClient, clock: Clock, make_source: MakeSource
) -> None:
    ids = seed_orders(client, clock, 12)
    cursor = (START + timedelta(seconds=7)).astimezone(timezone(timedelta(hours=2)))  # same moment, CEST
    orders = list(make_source(page_size=5).iter_orders(cursor))
    assert [order["entity_id"] for order in orders] == ids[7:]


@pytest.mark.parametrize(("status", "retry_after"), [(503, None), (429, 1.5)])
def test_backs_off_on_429_and_503(
    client: TestClient,
    clock: Clock,
    sleeps: list[float],
    make_source: MakeSource,
    status: int,
    retry_after: float | None,
) -> None:
    ids = seed_orders(client, clock, 3)
    fault = {"status": status, "count": 2, "retry_after": retry_after}
    assert client.post("/_sandbox/magento/faults", json=fault).status_code == 201
    orders = list(make_source().iter_orders(None))
    assert [order["entity_id"] for order in orders] == ids
    assert len(sleeps) == 2
    if retry_after is not None:
        assert sleeps == [1.5, 1.5]


def test_gives_up_after_max_attempts_of_429(client: TestClient, make_source: MakeSource) -> None:
    create_order(client)
    client.post("/_sandbox/magento/faults", json={"status": 429, "count": 10, "retry_after": 0})
    with pytest.raises(RateLimited):
        list(make_source(max_attempts=3).iter_orders(None))


def test_a_wrong_token_is_authentication_failed(client: TestClient, make_source: MakeSource) -> None:
    create_order(client)
    with pytest.raises(AuthenticationFailed):
        list(make_source(source_settings=settings(token="not-the-integrations-token")).iter_orders(None))


def test_get_order_and_a_missing_one(client: TestClient, make_source: MakeSource) -> None:
    created = create_order(client)
    source = make_source(source_settings=settings(store_code="default"))
    assert source.get_order(str(created["entity_id"]))["increment_id"] == created["increment_id"]
    with pytest.raises(ApiRejected) as caught:
        source.get_order("999")
    assert caught.value.status == 404


def test_the_first_page_tells_the_listing_size(
    client: TestClient, clock: Clock, make_source: MakeSource
) -> None:
    seed_orders(client, clock, 25)
    source = make_source(page_size=10)
    assert source.listing_total is None  # nothing read yet
    listing = source.iter_orders(None)
    next(listing)
    assert source.listing_total == 25  # total_count of the first query, before the rest is read
    assert len([*listing]) == 24
