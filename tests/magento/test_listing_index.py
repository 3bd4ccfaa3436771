"""``GET /V1/orders`` with the adapter's keyset searches, read off the shop's ``(updated_at, entity_id)``
index: the same pages and totals as rendering, filtering and sorting every order."""

from __future__ import annotations

import random
from datetime import timedelta

from adapters.magento.source import KEYSET_SORT
from sandbox.clock import Clock
from sandbox.magento import MagentoSimulator
from sandbox.magento.index import keyset_search
from sandbox.magento.search import Filter, SearchCriteria, run_search
from tests.magento.conftest import SHOP

SPEC = {"items": [{"sku": "24-WG080", "name": "Sprite Stasis Ball 55 cm", "price": 23}]}


def _criteria(groups: list[list[tuple[str, str, str]]], size: int | None, page: int) -> SearchCriteria:
    return SearchCriteria(
        filter_groups=[
            [Filter(field, value, condition) for field, value, condition in group] for group in groups
        ],
        sort_orders=list(KEYSET_SORT),
        page_size=size,
        current_page=page,
    )


def test_keyset_pages_equal_the_full_search_after_changes(simulator: MagentoSimulator, clock: Clock) -> None:
    chance = random.Random(3)
    shop = simulator.shop(SHOP)
    ids = []
    for _ in range(25):
        ids.append(shop.create_order(SPEC)["entity_id"])
        clock.advance(timedelta(seconds=chance.choice((0, 1, 2))))  # ties in the second too
    for order_id in chance.sample(ids, 6):
        shop.invoice(order_id)  # each change moves the order to the end
        clock.advance(timedelta(seconds=chance.choice((0, 1))))
    shop.cancel(ids[2])
    keys = shop.index.keys
    assert keys == sorted((order["updated_at"], order["entity_id"]) for order in shop.orders.values())
    moment, after_id = keys[10]
    later = keys[17][0]
    shapes = [
        [],
        [[("updated_at", moment, "gteq")]],
        [[("updated_at", moment, "gt")]],
        [
            [("updated_at", moment, "gteq")],
            [("updated_at", moment, "gt"), ("entity_id", str(after_id), "gt")],
        ],
        [[("updated_at", later, "gteq")], [("updated_at", moment, "gt"), ("entity_id", str(after_id), "gt")]],
    ]
    for groups in shapes:
        for size, page in ((1, 1), (3, 1), (3, 4), (5, 99), (None, 1)):
            criteria = _criteria(groups, size, page)
            indexed = keyset_search(shop.index, criteria, shop.render)
            assert indexed is not None, groups
            assert indexed == run_search(shop.rendered_orders(), criteria, default_sort=("entity_id", "DESC"))


def test_other_searches_are_left_to_the_full_search(simulator: MagentoSimulator) -> None:
    shop = simulator.shop(SHOP)
    shop.create_order(SPEC)
    moment = shop.index.keys[0][0]
    for groups in (
        [[("status", "pending", "eq")]],
        [[("updated_at", moment, "lteq")]],
        [[("updated_at", moment, "gt"), ("entity_id", "1", "gt")]],  # no updated_at >= T beside it
        [
            [("updated_at", "2000-01-01 00:00:00", "gteq")],
            [("updated_at", moment, "gt"), ("entity_id", "1", "gt")],
        ],
    ):
        assert keyset_search(shop.index, _criteria(groups, 10, 1), shop.render) is None
    unsorted = SearchCriteria(filter_groups=[], sort_orders=[("entity_id", "DESC")], page_size=10)
    assert keyset_search(shop.index, unsorted, shop.render) is None


def test_seeded_orders_are_one_second_apart(simulator: MagentoSimulator) -> None:
    assert simulator.seed_orders(SHOP, 120) == 120
    stamps = [stamp for stamp, _ in simulator.shop(SHOP).index.keys]
    assert stamps == sorted(set(stamps))
