"""The operator's commands against the sandbox: hooks sync, status, failures and failures retry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from tests.conftest import samples_dir
from worker.cli.main import app


def run(config: Path, *arguments: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(config), *arguments])


def picqer_hooks(sandbox_url: str) -> list[dict[str, Any]]:
    hooks = httpx.get(f"{sandbox_url}/picqer/api/v1/hooks", auth=("key", "")).json()
    return [hook for hook in hooks if hook["address"] == "https://sync.example.test/webhooks/picqer"]


def test_hooks_sync_creates_each_picqer_hook_once_and_is_safe_to_repeat(
    config_file: Path, sandbox_url: str
) -> None:
    first = run(config_file, "hooks", "sync")
    after_first = picqer_hooks(sandbox_url)
    second = run(config_file, "hooks", "sync")

    assert (first.exit_code, second.exit_code) == (0, 0), first.output
    assert sorted(hook["event"] for hook in after_first) == [
        "orders.completed",
        "orders.paused",
        "orders.resumed",
        "orders.status_changed",
        "picklists.shipments.created",
    ]
    assert all(hook["active"] for hook in after_first)
    assert picqer_hooks(sandbox_url) == after_first  # the second run created nothing
    status = json.loads(run(config_file, "status", "--json").stdout)
    assert len([hook for hook in status["hooks"] if hook["target"] == "picqer"]) == 5


def test_a_command_on_an_unreachable_database_exits_2_with_the_reason(
    tmp_path: Path, config_file: Path
) -> None:
    config = config_file.read_text()
    start = config.index("database_url")
    end = config.index("\n", start)
    broken = (
        config[:start] + 'database_url = "postgresql+psycopg://nobody:pw@127.0.0.1:1/none"' + config[end:]
    )
    config_file.write_text(broken)

    result = run(config_file, "failures")

    assert result.exit_code == 2
    where = "postgresql+psycopg://nobody:***@127.0.0.1:1/none"
    assert f"cannot reach the mirror database {where}" in result.output
    assert "pw@" not in result.output  # the password is never shown


def test_failures_list_the_reason_and_retry_pushes_once_the_cause_is_fixed(
    config_file: Path, sandbox_url: str, tmp_path: Path
) -> None:
    order = json.loads((samples_dir() / "shopify-order-1.json").read_text())["order"]
    order["financial_status"] = "paid"
    order["line_items"][0]["sku"] = "NEW-IN-PICQER-SOON"
    file = tmp_path / "order.json"
    file.write_text(json.dumps(order))
    assert run(config_file, "push", "shop-nl", "--file", str(file)).exit_code == 1

    [failure] = json.loads(run(config_file, "failures", "--json").stdout)
    assert (failure["source"], failure["shop_order_number"]) == ("shop-nl", "#1001")
    assert "NEW-IN-PICQER-SOON" in failure["reason"]
    assert "not in Picqer" in failure["reason"]
    status = json.loads(run(config_file, "status", "--json").stdout)
    assert [row["reference"] for row in status["failures"]] == ["#1001"]

    product = {"productcode": "NEW-IN-PICQER-SOON", "name": "New", "price": 10.0, "stock": 5}
    httpx.post(f"{sandbox_url}/_sandbox/picqer/products", json=product).raise_for_status()
    retried = run(config_file, "failures", "retry", "--all")

    assert retried.exit_code == 0, retried.output
    assert json.loads(run(config_file, "failures", "--json").stdout) == []
    orders = httpx.get(f"{sandbox_url}/_sandbox/picqer/orders").json()
    assert [(o["reference"], o["status"]) for o in orders] == [("#1001", "processing")]
