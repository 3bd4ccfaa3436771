"""``resync --order`` by the number people see (``#1001``, ``1001``) or the platform's id, and the
printed mapping from shop order to Picqer order. SQLite, and PostgreSQL with Redis (see the fixtures
of ``test_resync_cmd``)."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from tests.cli import test_resync_cmd as base
from tests.cli.test_resync_cmd import SHOPS, Env, Shop, picqer_references, resync
from worker.cli.main import app

# the same fixtures: a live sandbox, a config on SQLite or PostgreSQL + Redis, each demo shop
sandbox_url = base.sandbox_url
env = base.env
shop = base.shop


def picqer_orders(env: Env) -> dict[str, dict[str, object]]:
    orders = httpx.get(f"{env.sandbox}/_sandbox/picqer/orders").json()
    return {str(order["reference"]): order for order in orders}


def test_the_shop_number_with_or_without_hash_and_the_id_name_the_same_order(env: Env, shop: Shop) -> None:
    reference = shop.paid
    shop_order_id = shop.ids(env)[reference]
    bare = reference.lstrip("#")

    code, by_hash = resync(env, shop.source, "--order", f"#{bare}")
    _, by_number = resync(env, shop.source, "--order", bare)
    _, by_id = resync(env, shop.source, "--order", shop_order_id)

    assert code == 0
    for report in (by_hash, by_number, by_id):
        [line] = report["orders"]
        assert line["shop_order_id"] == shop_order_id
        assert line["shop_order_number"] == reference
        assert line["idorder"] is not None
    assert [line["outcome"] for report in (by_hash, by_number, by_id) for line in report["orders"]] == [
        "pushed",
        "unchanged",
        "unchanged",
    ]
    assert by_hash["orders"][0]["given"] == f"#{bare}"
    assert picqer_references(env) == [reference]  # one Picqer order, however it was named
    assert by_hash["orders"][0]["orderid"] == picqer_orders(env)[reference]["orderid"]


def test_a_value_that_matches_nothing_is_reported_and_the_rest_still_runs(env: Env) -> None:
    code, report = resync(env, "woo", "--order", "#1002", "--order", "#4711", "--order", "999999")

    assert code == 1
    assert [(line["given"], line["outcome"]) for line in report["orders"]] == [
        ("#1002", "pushed"),
        ("#4711", "failed"),
        ("999999", "failed"),
    ]
    assert report["orders"][1]["reason"] == "matched no order id or order number in the shop"
    assert picqer_references(env) == ["1002"]


def test_only_unmatched_values_resync_nothing_at_all(env: Env) -> None:
    code, report = resync(env, "mage", "--order", "#999999999")

    assert code == 1
    assert report["window"]["basis"] == "orders"  # not the cursor's window
    assert [line["outcome"] for line in report["orders"]] == ["failed"]
    assert picqer_references(env) == []


def test_a_real_resync_prints_which_shop_order_became_which_picqer_order(env: Env) -> None:
    shop_order_id = SHOPS["shopify"].ids(env)["#1001"]
    result = CliRunner().invoke(
        app, ["--config", str(env.config), "resync", "shop-nl", "--order", "1001", "--order", "#9999"]
    )

    assert result.exit_code == 1, result.output  # #9999 matched nothing
    picqer = picqer_orders(env)["#1001"]
    expected = (
        f"shop #1001 (id {shop_order_id}) -> Picqer idorder {picqer['idorder']} (orderid {picqer['orderid']})"
    )
    assert expected in result.stdout
    assert "no order in the shop matches #9999" in result.stdout
