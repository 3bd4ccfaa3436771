"""The mirror's commands: ``db upgrade``, ``failures [--json]``, ``failures retry``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
import typer
from typer.testing import CliRunner

from tests.sync.conftest import ContextFactory, mapped_order
from worker.cli import db_cmd, failures_cmd, reconcile_cmd
from worker.cli.state import CliState
from worker.db.migrate import current_revision
from worker.sync.push import push_order


def _app(tmp_path: Path, database_url: str) -> typer.Typer:
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "{database_url}"\n')
    app = typer.Typer()

    @app.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = CliState(config_file=config)

    for module in (db_cmd, failures_cmd, reconcile_cmd):
        module.register(app)
    return app


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    yield
    # the command configured logging onto the runner's (now closed) stderr; undo it for later tests
    structlog.reset_defaults()


def test_db_upgrade_migrates_the_configured_database(tmp_path: Path, database_url: str) -> None:
    result = CliRunner().invoke(_app(tmp_path, database_url), ["db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert current_revision(database_url) is not None
    assert "revision" in result.output


def test_failures_lists_failed_orders_with_their_reason(
    tmp_path: Path, mirror_url: str, make_ctx: ContextFactory
) -> None:
    push_order(make_ctx(), mapped_order(skus=("NOPE-1",)))
    push_order(make_ctx(), mapped_order("1002"))  # a good one, not listed
    app = _app(tmp_path, mirror_url)

    as_json = CliRunner().invoke(app, ["failures", "--json"])
    as_table = CliRunner().invoke(app, ["failures"])

    assert as_json.exit_code == 0, as_json.output
    [row] = json.loads(as_json.output)
    assert (row["shop_order_number"], row["step"], row["state"]) == ("#1001", "creating", "failed")
    assert row["reason"] == "product code NOPE-1 is not in Picqer"
    assert "NOPE-1" in as_table.output


def test_failures_retry_needs_an_id_or_all(tmp_path: Path, mirror_url: str) -> None:
    result = CliRunner().invoke(_app(tmp_path, mirror_url), ["failures", "retry"])

    assert result.exit_code == 2
