"""``picqer-sync push``: the vendor samples through mapping and the push pipeline into the sandbox.

Runs on SQLite without Redis, and on PostgreSQL with a real Redis (required under CI=true).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from tests.conftest import samples_dir
from worker.cli.main import app

SAMPLES = samples_dir()


def push(config: Path, source: str, *files: Path) -> tuple[int, list[dict[str, Any]]]:
    arguments = ["--config", str(config), "push", source, "--json"]
    for file in files:
        arguments += ["--file", str(file)]
    result = CliRunner().invoke(app, arguments)
    return result.exit_code, json.loads(result.stdout)


def picqer_orders(sandbox_url: str, reference: str) -> list[dict[str, Any]]:
    everything = httpx.get(f"{sandbox_url}/_sandbox/picqer/orders").json()
    return [order for order in everything if order["reference"] == reference]


def write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def shopify_sample(**changes: Any) -> dict[str, Any]:
    document = json.loads((SAMPLES / "shopify-order-1.json").read_text())
    document["order"].update(changes)
    return document


def test_each_sample_gets_its_documented_outcome(config_file: Path, sandbox_url: str) -> None:
    code, shopify = push(
        config_file, "shop-nl", SAMPLES / "shopify-order-1.json", SAMPLES / "shopify-orders-list-1.json"
    )
    assert [(line["outcome"], line["order"]) for line in shopify] == [
        ("skipped", "#1001"),
        ("skipped", "#1001"),
    ]
    assert shopify[0]["detail"].startswith("unpaid")
    assert "nothing to ship" in shopify[1]["detail"]

    code, woo = push(config_file, "woo", SAMPLES / "woocommerce-orders-list-1.json")
    assert code == 1  # one order failed
    by_number = {line["order"]: line for line in woo}
    assert by_number["727"]["outcome"] == "failed"
    assert "line 315" in by_number["727"]["detail"]
    assert "SKU" in by_number["727"]["detail"]
    assert by_number["723"]["outcome"] == "skipped"

    code, magento = push(config_file, "mage", SAMPLES / "magento-order-1.json")
    assert code == 0
    assert [(line["outcome"], line["order"]) for line in magento] == [("skipped", "000000003")]
    assert magento[0]["detail"].startswith("unpaid")

    assert httpx.get(f"{sandbox_url}/_sandbox/picqer/orders").json() == []  # nothing half-made


def test_paid_samples_are_pushed_once_with_the_right_lines(
    config_file: Path, sandbox_url: str, tmp_path: Path
) -> None:
    paid = write(tmp_path, "paid.json", shopify_sample(financial_status="paid"))
    magento = json.loads((SAMPLES / "magento-order-1.json").read_text())
    magento.update(state="processing", status="processing")
    magento_paid = write(tmp_path, "magento-paid.json", magento)

    code, [shopify_line] = push(config_file, "shop-nl", paid)
    assert (code, shopify_line["outcome"], shopify_line["detail"]) == (0, "pushed", "")
    code, [magento_line] = push(config_file, "mage", magento_paid)
    assert (code, magento_line["outcome"]) == (0, "pushed")

    [shopify_order] = picqer_orders(sandbox_url, "#1001")
    assert shopify_order["idorder"] == shopify_line["idorder"]
    assert shopify_order["status"] == "processing"
    assert sorted((p["productcode"], p["amount"]) for p in shopify_order["products"]) == [
        ("IPOD2008BLACK", 1),
        ("IPOD2008GREEN", 1),
        ("IPOD2008RED", 1),
    ]
    assert "shop-nl" in shopify_order["tags"]
    [magento_order] = picqer_orders(sandbox_url, "000000003")
    codes = [p["productcode"] for p in magento_order["products"]]
    assert len(codes) == len(set(codes))  # parent and child rows never both

    code, [again] = push(config_file, "shop-nl", paid)
    assert (again["outcome"], again["idorder"]) == ("unchanged", shopify_line["idorder"])
    assert len(picqer_orders(sandbox_url, "#1001")) == 1


def test_later_files_of_the_same_order_move_the_picqer_order(
    config_file: Path, sandbox_url: str, tmp_path: Path
) -> None:
    authorized = write(tmp_path, "1-authorized.json", shopify_sample())
    paid = write(
        tmp_path,
        "2-paid.json",
        shopify_sample(financial_status="paid", updated_at="2008-01-10T12:00:00-05:00"),
    )
    moved_document = shopify_sample(financial_status="paid", updated_at="2008-01-10T13:00:00-05:00")
    moved_document["order"]["shipping_address"] = dict(
        moved_document["order"]["shipping_address"], city="Utrecht"
    )
    moved = write(tmp_path, "3-moved.json", moved_document)
    cancelled = write(
        tmp_path,
        "4-cancelled.json",
        copy.deepcopy(moved_document)
        | {
            "order": moved_document["order"]
            | {"cancelled_at": "2008-01-10T14:00:00-05:00", "updated_at": "2008-01-10T14:00:00-05:00"}
        },
    )

    assert push(config_file, "shop-nl", authorized)[1][0]["outcome"] == "skipped"
    assert picqer_orders(sandbox_url, "#1001") == []
    assert push(config_file, "shop-nl", paid)[1][0]["outcome"] == "pushed"
    assert push(config_file, "shop-nl", moved)[1][0]["outcome"] == "updated"
    [order] = picqer_orders(sandbox_url, "#1001")
    assert order["deliverycity"] == "Utrecht"
    [line] = push(config_file, "shop-nl", cancelled)[1]
    assert line["outcome"] == "paused"  # processing in Picqer: paused with a reason by default
    [order] = picqer_orders(sandbox_url, "#1001")
    assert order["status"] == "paused"


def test_three_shells_at_once_make_one_picqer_order(
    config_file: Path, sandbox_url: str, tmp_path: Path
) -> None:
    paid = write(tmp_path, "paid.json", shopify_sample(financial_status="paid"))
    command = [
        sys.executable,
        "-m",
        "worker.cli",
        "--config",
        str(config_file),
        "push",
        "shop-nl",
        "--file",
        str(paid),
        "--json",
    ]
    environment = dict(os.environ, TEST_PICQER_KEY="sandbox-key")
    shells = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment)
        for _ in range(3)
    ]
    outcomes = []
    for shell in shells:
        stdout, _ = shell.communicate(timeout=60)
        assert shell.returncode == 0
        outcomes.append(json.loads(stdout)[0]["outcome"])

    assert sorted(outcomes) == ["pushed", "unchanged", "unchanged"]
    assert len(picqer_orders(sandbox_url, "#1001")) == 1


def test_an_unreadable_file_fails_with_its_name(config_file: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, [line] = push(config_file, "shop-nl", broken)
    assert code == 1
    assert line["outcome"] == "failed"
    assert "broken.json" in line["detail"]
    assert "not JSON" in line["detail"]


def test_an_unknown_source_is_a_usage_error(config_file: Path) -> None:
    result = CliRunner().invoke(app, ["--config", str(config_file), "push", "nope", "--file", "x.json"])
    assert result.exit_code == 2
    assert "unknown source 'nope'" in result.output
