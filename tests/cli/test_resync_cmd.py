"""``picqer-sync resync``: each shop simulator's demo orders through the command into the Picqer sandbox.

Runs on SQLite without Redis, and on PostgreSQL with a real Redis (required under CI=true).
"""

from __future__ import annotations

import io
import json
import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from rich.console import Console
from typer.testing import CliRunner

from sandbox.app import create_sandbox_app
from tests.conftest import REDIS_URL
from tests.support.liveserver import serve
from worker.cli import resync_cmd
from worker.cli.main import app
from worker.db.session import make_engine
from worker.logging import configure_logging, get_logger
from worker.sync.resync import ResyncLine


@dataclass(frozen=True)
class Shop:
    """A demo shop as its simulator seeds it (see sandbox/<platform>/ seed code)."""

    source: str
    platform: str
    pushed: frozenset[str]  # references of the paid orders
    skipped: dict[str, str]  # reference -> the start of the skip reason
    paid: str  # reference of one paid order
    unpaid: str  # reference of the unpaid order
    control: str  # the simulator's control prefix for demo-shop
    pay: str  # the control action (after /orders/{id}/) that pays an order

    def ids(self, env: Env) -> dict[str, str]:
        """reference -> shop order id (Shopify's ids grow across resets)."""
        listed = httpx.get(f"{env.sandbox}{self.control}/orders").json()
        rows = listed["orders"] if isinstance(listed, dict) else listed
        keys = {
            "shopify": ("name", "id"),
            "woocommerce": ("number", "id"),
            "magento": ("increment_id", "entity_id"),
        }
        reference, key = keys[self.platform]
        return {str(row[reference]): str(row[key]) for row in rows}

    def pay_unpaid(self, env: Env) -> None:
        shop_order_id = self.ids(env)[self.unpaid]
        httpx.post(f"{env.sandbox}{self.control}/orders/{shop_order_id}/{self.pay}").raise_for_status()


SHOPS = {
    "shopify": Shop(
        source="shop-nl",
        platform="shopify",
        pushed=frozenset({"#1001", "#1002", "#1003", "#1006"}),
        skipped={"#1004": "unpaid", "#1005": "cancelled"},
        paid="#1001",
        unpaid="#1004",
        control="/_sandbox/shopify/shops/demo-shop",
        pay="pay",
    ),
    "woocommerce": Shop(
        source="woo",
        platform="woocommerce",
        pushed=frozenset({"1001", "1002", "1003"}),
        skipped={"1004": "unpaid"},
        paid="1002",
        unpaid="1004",
        control="/_sandbox/woocommerce/shops/demo-shop",
        pay="pay",
    ),
    "magento": Shop(
        source="mage",
        platform="magento",
        pushed=frozenset({"000000001", "000000002", "000000003"}),
        skipped={"000000004": "unpaid"},
        paid="000000002",
        unpaid="000000004",
        control="/_sandbox/magento/shops/demo-shop",
        pay="invoice",
    ),
}


@dataclass(frozen=True)
class Env:
    config: Path
    database_url: str
    sandbox: str


@pytest.fixture(scope="module")
def sandbox_url() -> Any:
    with serve(create_sandbox_app(rate_limit=None, seed=True)) as base:
        yield base


@pytest.fixture(
    params=["sqlite", pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis])]
)
def env(
    request: pytest.FixtureRequest, tmp_path: Path, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> Env:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    monkeypatch.setenv("TEST_PICQER_KEY", "sandbox-key")
    if request.param == "sqlite":
        database_url, redis_url = f"sqlite:///{tmp_path / 'mirror.db'}", ""
    else:
        database_url = request.getfixturevalue("postgres_url")
        request.getfixturevalue("real_redis")  # flushed before and after
        redis_url = REDIS_URL
    config = tmp_path / "picqer-sync.toml"
    config.write_text(
        f"""
database_url = "{database_url}"
redis_url = "{redis_url}"
log_format = "json"
log_level = "warning"

[picqer]
url = "{sandbox_url}/picqer/api/v1/"
api_key = "env:TEST_PICQER_KEY"

[[sources]]
name = "shop-nl"
platform = "shopify"
url = "{sandbox_url}/shopify/demo-shop"
access_token = "token"

[[sources]]
name = "woo"
platform = "woocommerce"
url = "{sandbox_url}/woocommerce/demo-shop"
consumer_key = "ck_demo-shop"
consumer_secret = "cs_demo-shop"

[[sources]]
name = "mage"
platform = "magento"
url = "{sandbox_url}/magento/demo-shop"
consumer_key = "demo-shop-consumer-key"
consumer_secret = "demo-shop-consumer-secret"
access_token = "demo-shop-access-token"
access_token_secret = "demo-shop-access-token-secret"
"""
    )
    return Env(config, database_url, sandbox_url)


@pytest.fixture(params=sorted(SHOPS))
def shop(request: pytest.FixtureRequest) -> Shop:
    return SHOPS[request.param]


def resync(env: Env, source: str, *options: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["--config", str(env.config), "resync", source, "--json", *options])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def outcomes(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {line["order"]: (line["outcome"], line["reason"]) for line in report["orders"]}


def picqer_references(env: Env) -> list[str]:
    return [order["reference"] for order in httpx.get(f"{env.sandbox}/_sandbox/picqer/orders").json()]


def picqer_requests(env: Env, method: str | None = None) -> list[dict[str, Any]]:
    params = {"method": method} if method else {}
    return list(httpx.get(f"{env.sandbox}/_sandbox/picqer/requests", params=params).json())


def mirror_rows(env: Env) -> tuple[int, int]:
    """(orders, cursors) in the mirror."""
    engine = make_engine(env.database_url)
    try:
        with engine.connect() as connection:
            count = connection.execute(sa.text("SELECT count(*) FROM orders")).scalar_one()
            cursors = connection.execute(sa.text("SELECT count(*) FROM sync_cursors")).scalar_one()
    finally:
        engine.dispose()
    return int(count), int(cursors)


def sandbox_now(env: Env) -> datetime:
    return datetime.fromisoformat(httpx.get(f"{env.sandbox}/_sandbox/clock").json()["now"])


def test_resync_pushes_the_paid_orders_once_and_skips_the_rest(env: Env, shop: Shop) -> None:
    code, first = resync(env, shop.source)

    assert code == 0
    assert first["window"]["basis"] == "start"  # no cursor yet: from the start bound, not the whole past
    by_order = outcomes(first)
    assert {order for order, (kind, _) in by_order.items() if kind == "pushed"} == shop.pushed
    for order, reason in shop.skipped.items():
        assert by_order[order][0] == "skipped"
        assert by_order[order][1].startswith(reason)
    assert first["counts"] == {"pushed": len(shop.pushed), "skipped": len(shop.skipped)}
    assert sorted(picqer_references(env)) == sorted(shop.pushed)
    assert first["cursor_moved_to"] is not None
    creates = len(picqer_requests(env, "POST"))

    code, second = resync(env, shop.source)

    assert code == 0
    assert second["window"]["basis"] == "cursor"  # the first run moved it
    assert {
        order: kind for order, (kind, _) in outcomes(second).items() if order in shop.pushed
    } == dict.fromkeys(shop.pushed, "unchanged")
    assert len(picqer_requests(env, "POST")) == creates  # nothing created, tagged or processed again
    assert sorted(picqer_references(env)) == sorted(shop.pushed)


def test_order_option_does_only_that_order(env: Env, shop: Shop) -> None:
    reference = shop.paid
    shop_order_id = shop.ids(env)[reference]
    code, report = resync(env, shop.source, "--order", shop_order_id)

    assert code == 0
    assert report["window"]["basis"] == "orders"
    assert [(line["shop_order_id"], line["outcome"]) for line in report["orders"]] == [
        (shop_order_id, "pushed")
    ]
    assert picqer_references(env) == [reference]
    assert report["cursor_moved_to"] is None
    assert mirror_rows(env) == (1, 0)  # the cursor is the scheduled poll's business


def test_an_order_the_shop_does_not_have_fails_with_a_reason(env: Env) -> None:
    shop_order_id = SHOPS["shopify"].ids(env)["#1001"]
    code, report = resync(env, "shop-nl", "--order", shop_order_id, "--order", "999")

    assert code == 1
    assert [(line["shop_order_id"], line["outcome"]) for line in report["orders"]] == [
        (shop_order_id, "pushed"),
        ("999", "failed"),
    ]
    assert report["orders"][1]["reason"] == "matched no order id or order number in the shop"


def test_dry_run_sends_nothing_and_writes_nothing(env: Env, shop: Shop) -> None:
    httpx.delete(f"{env.sandbox}/_sandbox/picqer/requests").raise_for_status()

    code, report = resync(env, shop.source, "--dry-run")

    assert code == 0
    assert report["dry_run"] is True
    by_order = outcomes(report)
    assert {order for order, (kind, _) in by_order.items() if kind == "would push"} == shop.pushed
    for order, reason in shop.skipped.items():
        assert by_order[order][0] == "would skip"
        assert by_order[order][1].startswith(reason)
    assert picqer_requests(env) == []
    assert mirror_rows(env) == (0, 0)
    assert report["cursor_moved_to"] is None

    resync(env, shop.source)  # now for real; then the unpaid order is paid in the shop
    shop.pay_unpaid(env)
    httpx.delete(f"{env.sandbox}/_sandbox/picqer/requests").raise_for_status()
    rows_before = mirror_rows(env)

    code, again = resync(env, shop.source, "--dry-run")

    by_order = outcomes(again)
    assert {order: by_order[order][0] for order in shop.pushed} == dict.fromkeys(shop.pushed, "up to date")
    assert by_order[shop.unpaid][0] == "would push"
    assert picqer_requests(env) == []
    assert mirror_rows(env) == rows_before


def test_since_lists_only_orders_changed_since_then(env: Env, shop: Shop) -> None:
    httpx.post(f"{env.sandbox}/_sandbox/clock", json={"advance": 86_400}).raise_for_status()
    shop.pay_unpaid(env)  # changed a day after the others
    since = (sandbox_now(env) - timedelta(hours=1)).isoformat()

    code, report = resync(env, shop.source, "--since", since)

    assert code == 0
    assert report["window"]["basis"] == "given"
    assert [(line["order"], line["outcome"]) for line in report["orders"]] == [(shop.unpaid, "pushed")]
    assert picqer_references(env) == [shop.unpaid]
    assert report["cursor_moved_to"] is None
    assert mirror_rows(env)[1] == 0


def test_usage_errors_exit_2(env: Env) -> None:
    runner = CliRunner()
    base = ["--config", str(env.config), "resync"]
    unknown = runner.invoke(app, [*base, "nope"])
    assert unknown.exit_code == 2
    assert "unknown source 'nope'" in unknown.output
    bad_date = runner.invoke(app, [*base, "shop-nl", "--since", "last tuesday"])
    assert bad_date.exit_code == 2
    assert "not an ISO date" in bad_date.output
    assert picqer_requests(env) == []


# -- the progress bar on a terminal ----------------------------------------------------------------


def _terminal() -> tuple[Console, io.StringIO]:
    screen = io.StringIO()
    return Console(file=screen, force_terminal=True, width=120, color_system=None), screen


def test_log_lines_are_printed_above_the_bar_not_into_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the process writes to stderr while the bar is drawn goes through the bar's console
    (which lifts the bar, prints the line whole and draws the bar below it); nothing reaches the
    terminal behind its back, as a log writer that writes to the descriptor would."""
    # a real file: it has a descriptor, which a log writer may write to directly
    behind_the_bar = (tmp_path / "stderr").open("w+", encoding="utf-8")
    monkeypatch.setattr(sys, "stderr", behind_the_bar)
    configure_logging(log_format="json")
    console, screen = _terminal()
    with resync_cmd._progress(enabled=True, total=None, console=console) as bar:
        get_logger("test").info("order_pushed", source="shop-nl", reference="#1001")
        logging.getLogger("httpx").warning("a library's warning")
        bar.advance(ResyncLine("1", "#1001", "pushed"))
    behind_the_bar.seek(0)
    assert behind_the_bar.read() == ""
    # each line whole, after the control codes that lifted the bar
    printed = [json.loads(line[line.index("{") :]) for line in screen.getvalue().splitlines() if "{" in line]
    assert [line["event"] for line in printed] == ["order_pushed", "a library's warning"]
    assert sys.stderr is behind_the_bar  # put back


def test_without_a_terminal_log_lines_go_to_stderr_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    configure_logging(log_format="json")
    console = Console(file=io.StringIO(), force_terminal=False)
    with resync_cmd._progress(enabled=True, total=None, console=console):
        get_logger("test").info("order_pushed", reference="#1001")
    assert json.loads(stderr.getvalue())["event"] == "order_pushed"


def test_the_bar_takes_the_total_the_shop_gives() -> None:
    console, _ = _terminal()
    with resync_cmd._progress(enabled=True, total=None, console=console) as bar:
        progress_task = bar._progress.tasks[0] if bar._progress is not None else None
        assert progress_task is not None
        assert progress_task.total is None  # counting, with no total yet
        bar.set_total(resync_cmd.listing_total(SimpleNamespace(listing_total=42)))
        assert progress_task.total == 42
        bar.set_total(resync_cmd.listing_total(SimpleNamespace()))  # a shop that says nothing
        assert progress_task.total == 42


def test_listing_total_reads_only_a_count() -> None:
    assert resync_cmd.listing_total(SimpleNamespace(listing_total=7)) == 7
    for unknown in (None, True, -1, "7"):
        assert resync_cmd.listing_total(SimpleNamespace(listing_total=unknown)) is None
