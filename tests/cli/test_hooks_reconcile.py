"""``hooks sync`` reconciles: after a ``public_url`` change ours move, foreign hooks stay, a dry run
changes nothing and a second run only keeps. SQLite, and PostgreSQL with Redis (``conftest.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from adapters.registry import get_platform
from adapters.shopify.subscriptions import create_webhook, list_webhooks
from adapters.woocommerce.subscriptions import list_webhooks as list_woo_webhooks
from worker.cli.main import app
from worker.config import load_settings

OLD = "https://sync.example.test"
NEW = "https://new-sync.example.test/base"
FOREIGN_PICQER = "https://erp.example.test/webhooks/picqer-orders"
FOREIGN_SHOP = "https://erp.example.test/shop-hook"


def run(config: Path, *arguments: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(config), *arguments])


def picqer_hooks(sandbox_url: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{sandbox_url}/picqer/api/v1/hooks", auth=("key", "")).json())


def shop_hooks(config: Path) -> dict[str, list[tuple[str, str, str]]]:
    """source -> sorted (topic, address, status) of every webhook at its shop."""
    settings = load_settings(config)
    found: dict[str, list[tuple[str, str, str]]] = {}
    with get_platform("shopify").source_class(settings.source("shop-nl")) as shopify:
        found["shop-nl"] = sorted((h["topic"], h["address"], "active") for h in list_webhooks(shopify))
    with get_platform("woocommerce").source_class(settings.source("woo")) as woo:
        found["woo"] = sorted((h["topic"], h["delivery_url"], h["status"]) for h in list_woo_webhooks(woo))
    return found


def add_foreign_hooks(config: Path, sandbox_url: str) -> None:
    body = {"name": "ERP", "event": "orders.completed", "address": FOREIGN_PICQER, "secret": "erp"}
    httpx.post(f"{sandbox_url}/picqer/api/v1/hooks", json=body, auth=("key", "")).raise_for_status()
    settings = load_settings(config)
    with get_platform("shopify").source_class(settings.source("shop-nl")) as shopify:
        create_webhook(shopify, "orders/create", FOREIGN_SHOP)
    with get_platform("woocommerce").source_class(settings.source("woo")) as woo:
        hook = {"name": "ERP", "topic": "order.updated", "delivery_url": FOREIGN_SHOP, "secret": "erp"}
        woo.send("POST", "webhooks", json=hook)


def move_public_url(config: Path, url: str) -> None:
    config.write_text(config.read_text().replace(f'public_url = "{OLD}"', f'public_url = "{url}"'))


def plan(config: Path, *options: str) -> list[tuple[str, str, str, str]]:
    """(target, event, action, address) rows of the printed table."""
    result = run(config, "hooks", "sync", *options)
    assert result.exit_code == 0, result.output
    rows = []
    for line in result.stdout.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 6 and cells[0] and cells[0] != "target":
            rows.append((cells[0], cells[1], cells[2], cells[3]))
    return rows


def registrations(config: Path) -> list[dict[str, Any]]:
    return list(json.loads(run(config, "status", "--json").stdout)["hooks"])


@pytest.fixture
def synced(config_file: Path, sandbox_url: str) -> Path:
    """Hooks set up at the old address, plus a foreign hook in Picqer and in each shop."""
    assert run(config_file, "hooks", "sync").exit_code == 0
    add_foreign_hooks(config_file, sandbox_url)
    return config_file


def test_a_public_url_change_moves_ours_and_leaves_foreign_hooks_alone(
    synced: Path, sandbox_url: str
) -> None:
    move_public_url(synced, NEW)

    rows = plan(synced)

    assert {action for _, _, action, _ in rows} == {"move", "keep"}  # keep: Magento, polled
    moved = [row for row in rows if row[2] == "move"]
    assert len(moved) == 5 + 4 + 4  # Picqer's events, Shopify's and Woo's topics
    assert {address for target, _, _, address in moved if target == "picqer"} == {f"{NEW}/webhooks/picqer"}
    active = [hook for hook in picqer_hooks(sandbox_url) if hook["active"]]
    assert sorted(hook["address"] for hook in active) == sorted(
        [FOREIGN_PICQER] + [f"{NEW}/webhooks/picqer"] * 5
    )
    shops = shop_hooks(synced)
    assert {address for _, address, _ in shops["shop-nl"]} == {
        FOREIGN_SHOP,
        f"{NEW}/webhooks/sources/shop-nl",
    }
    assert {address for _, address, _ in shops["woo"]} == {FOREIGN_SHOP, f"{NEW}/webhooks/sources/woo"}
    assert len(shops["shop-nl"]) == len(shops["woo"]) == 5  # four of ours, one foreign
    rows_in_mirror = registrations(synced)
    assert {row["address"] for row in rows_in_mirror} == {
        f"{NEW}/webhooks/picqer",
        f"{NEW}/webhooks/sources/shop-nl",
        f"{NEW}/webhooks/sources/woo",
    }
    assert len(rows_in_mirror) == 13


def test_dry_run_prints_the_plan_and_changes_nothing(synced: Path, sandbox_url: str) -> None:
    move_public_url(synced, NEW)
    before = (picqer_hooks(sandbox_url), shop_hooks(synced), registrations(synced))

    rows = plan(synced, "--dry-run")

    assert ("picqer", "orders.completed", "move", f"{NEW}/webhooks/picqer") in rows
    assert ("woo", "order.created", "move", f"{NEW}/webhooks/sources/woo") in rows
    assert (picqer_hooks(sandbox_url), shop_hooks(synced), registrations(synced)) == before


def test_a_second_run_only_keeps(synced: Path, sandbox_url: str) -> None:
    move_public_url(synced, NEW)
    plan(synced)
    after_first = (picqer_hooks(sandbox_url), shop_hooks(synced))

    second = plan(synced)

    assert {action for _, _, action, _ in second} == {"keep"}
    assert (picqer_hooks(sandbox_url), shop_hooks(synced)) == after_first
    assert {action for _, _, action, _ in plan(synced, "--dry-run")} == {"keep"}


def test_ours_no_longer_needed_are_removed(synced: Path, sandbox_url: str) -> None:
    # a hook of ours on an event we do not use, and the webhooks of a source since removed from the config
    body = {
        "name": "picqer-sync orders.created",
        "event": "orders.created",
        "address": f"{OLD}/webhooks/picqer",
    }
    httpx.post(f"{sandbox_url}/picqer/api/v1/hooks", json={**body, "secret": "s"}, auth=("key", ""))
    settings = load_settings(synced)
    with get_platform("shopify").source_class(settings.source("shop-nl")) as shopify:
        create_webhook(shopify, "orders/paid", f"{OLD}/webhooks/sources/old-name")

    rows = plan(synced)

    assert ("picqer", "orders.created", "remove", f"{OLD}/webhooks/picqer") in rows
    assert ("shop-nl", "orders/paid", "remove", f"{OLD}/webhooks/sources/old-name") in rows
    assert not [h for h in picqer_hooks(sandbox_url) if h["active"] and h["event"] == "orders.created"]
    assert f"{OLD}/webhooks/sources/old-name" not in {
        address for _, address, _ in shop_hooks(synced)["shop-nl"]
    }
    assert {action for _, _, action, _ in plan(synced)} == {"keep"}
