"""``GET orders`` read off the shop's sorted index answers what filtering and sorting every order does."""

from __future__ import annotations

import random
from datetime import UTC, timedelta

from sandbox.clock import Clock
from sandbox.woocommerce import WooCommerceSimulator
from sandbox.woocommerce.listing import OrderQuery
from tests.woocommerce.conftest import SHOP

ITEMS = [{"sku": "MUG-LOGO", "name": "Mug", "quantity": 1, "price": 9.5}]


def test_indexed_pages_equal_the_full_scan_after_changes(sim: WooCommerceSimulator, clock: Clock) -> None:
    chance = random.Random(7)
    ids = []
    for _ in range(30):
        ids.append(
            sim.create_order(SHOP, status=chance.choice(("processing", "pending")), line_items=ITEMS)["id"]
        )
        clock.advance(timedelta(seconds=chance.choice((0, 1, 3))))  # ties in the second too
    for order_id in chance.sample(ids, 8):
        sim.edit(SHOP, order_id, customer_note="moved to the end")
        clock.advance(timedelta(seconds=chance.choice((0, 2))))
    sim.trash(SHOP, ids[4])
    sim.trash(SHOP, ids[9])
    sim.restore(SHOP, ids[9])
    sim.delete(SHOP, ids[11])
    shop = sim.shop(SHOP)
    middle = sorted(order["date_modified_gmt"] for order in shop.orders.values())[12]
    local_middle = sorted(order["date_modified"] for order in shop.orders.values())[12]
    zoned = clock.now().astimezone(UTC) - timedelta(seconds=20)
    queries: list[dict[str, list[str]]] = [
        {},
        {"orderby": ["modified"], "order": ["asc"], "dates_are_gmt": ["true"], "modified_after": [middle]},
        {"orderby": ["modified"], "order": ["desc"], "modified_before": [local_middle], "status": ["any"]},
        {"orderby": ["modified"], "order": ["asc"], "modified_after": [zoned.isoformat()]},
        {
            "orderby": ["date"],
            "order": ["asc"],
            "status": ["processing"],
            "after": [middle],
            "dates_are_gmt": ["1"],
        },
        {"orderby": ["id"], "order": ["asc"], "status": ["trash"]},
        {"orderby": ["modified"], "order": ["asc"], "after": [middle]},  # a bound on the other date
        {"orderby": ["modified"], "search": ["mug"]},
    ]
    for query in queries:
        for per_page in ("1", "4", "100"):
            for page in ("1", "2", "5", "40"):
                wanted = OrderQuery.parse({**query, "per_page": [per_page], "page": [page]})
                indexed = wanted.select_indexed(shop)
                scanned = wanted.select(shop.orders.values(), shop.utc_offset)
                assert [o["id"] for o in indexed[0]] == [o["id"] for o in scanned[0]], (query, per_page, page)
                assert indexed[1:] == scanned[1:], (query, per_page, page)


def test_seeded_orders_are_listed_one_second_apart(sim: WooCommerceSimulator) -> None:
    assert sim.seed_orders(SHOP, 250) == 250
    wanted = OrderQuery.parse({"orderby": ["modified"], "order": ["asc"], "per_page": ["100"]})
    page, total, pages = wanted.select_indexed(sim.shop(SHOP))
    assert (total, pages, len(page)) == (250, 3, 100)
    stamps = [order["date_modified_gmt"] for order in page]
    assert stamps == sorted(set(stamps))
