"""The simulator's orders listing answered from its ``(updated_at, id)`` index: the same pages as
filtering and sorting every order, and a page deep in the listing without reading the ones before."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sandbox.shopify import graphql
from sandbox.shopify.state import ShopState
from sandbox.shopify.templates import template
from tests.shopify.conftest import SHOP, Sandbox

GRAPHQL = f"/shopify/{SHOP}/admin/api/2026-07/graphql.json"
PAGE = """
query Page($first: Int, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id updatedAt }
  }
}"""


def _state(sandbox: Sandbox) -> ShopState:
    return sandbox.sim.shop(SHOP)


def _by_sorting(state: ShopState, args: dict[str, Any]) -> dict[str, Any]:
    return graphql._orders_by_sorting(state, graphql.order_filter(args.get("query")), "UPDATED_AT", args)


def _by_index(state: ShopState, args: dict[str, Any]) -> dict[str, Any] | None:
    return graphql._orders_by_index(state, graphql.order_filter(args.get("query")), args)


def _shape(page: dict[str, Any]) -> tuple[list[int], dict[str, Any]]:
    return [int(record.data["id"]) for record in page["nodes"]], page["pageInfo"]


def test_index_pages_equal_the_sorted_listing_after_changes(sandbox: Sandbox) -> None:
    chance = random.Random(12)
    ids = []
    for _ in range(40):
        ids.append(sandbox.sim.create_order(SHOP, template("ipod"))["id"])
        sandbox.clock.advance(timedelta(seconds=chance.choice((0, 1, 5))))  # ties in updated_at too
    for order_id in chance.sample(ids, 12):  # each change moves the order to the end of the listing
        sandbox.sim.edit(SHOP, order_id, {"note": "moved"})
        sandbox.clock.advance(timedelta(seconds=chance.choice((0, 2))))
    sandbox.sim.cancel(SHOP, ids[3])
    state = _state(sandbox)
    assert [record.updated_key for record in state.sorted_orders()] == sorted(
        record.updated_key for record in state.orders.values()
    )
    middle = state.sorted_orders()[15].updated.isoformat()
    searches = [None, f"updated_at:>='{middle}'", f"updated_at:>'{middle}' status:open", "status:cancelled"]
    for search in searches:
        for size in (1, 3, 7, 50):
            after: str | None = None
            while True:
                args = {"first": size, "after": after, "query": search}
                indexed = _by_index(state, args)
                assert indexed is not None
                assert _shape(indexed) == _shape(_by_sorting(state, args)), (search, size, after)
                after = indexed["pageInfo"]["endCursor"]
                if not indexed["pageInfo"]["hasNextPage"]:
                    break


def test_what_the_index_does_not_cover_is_sorted_as_before(sandbox: Sandbox) -> None:
    for _ in range(3):
        sandbox.sim.create_order(SHOP, template("ipod"))
        sandbox.clock.advance(timedelta(seconds=1))
    state = _state(sandbox)
    for args in ({"last": 2}, {"first": 2, "reverse": True}, {"first": 0}):
        assert _by_index(state, args) is None
    newest = [int(record.data["id"]) for record in state.sorted_orders()[-2:]]
    assert _shape(_by_sorting(state, {"last": 2}))[0] == newest


def test_a_page_deep_in_the_listing_reads_only_its_own_orders(sandbox: Sandbox) -> None:
    """Finding the page by bisection: the filter runs on the page's orders (and the one after it),
    not on the thousands before it."""
    made = sandbox.sim.seed_orders(SHOP, 3000, spacing_seconds=1.0)
    assert made == 3000
    state = _state(sandbox)
    deep = graphql.encode_cursor(list(state.by_updated.keys[2900]))
    tested: list[int] = []
    real = graphql.order_filter

    def counting(query: str | None) -> Any:
        matches = real(query)

        def test(record: Any) -> bool:
            tested.append(1)
            return matches(record)

        return test

    graphql.order_filter = counting  # type: ignore[assignment]
    try:
        answer = sandbox.client.post(
            GRAPHQL,
            json={"query": PAGE, "variables": {"first": 10, "after": deep}},
            headers={"X-Shopify-Access-Token": "token"},
        ).json()
    finally:
        graphql.order_filter = real  # type: ignore[assignment]
    page = answer["data"]["orders"]
    assert len(page["nodes"]) == 10
    assert page["pageInfo"]["hasNextPage"]
    assert page["pageInfo"]["hasPreviousPage"]
    assert len(tested) <= 12  # ten on the page, one to know there is a next, one before it


def test_bulk_orders_control_seeds_many_orders_without_webhooks(sandbox: Sandbox) -> None:
    answer = sandbox.client.post(f"/_sandbox/shopify/shops/{SHOP}/orders/bulk", json={"count": 250})
    assert answer.status_code == 201
    assert answer.json() == {"orders": 250}
    listed = sandbox.sim.orders(SHOP)
    assert len({order["updated_at"] for order in listed}) == 250  # one second apart
    assert sandbox.received.topics() == []
