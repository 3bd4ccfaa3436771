"""``picqer-sync sources check``: one read per shop and per Picqer account, and a clear verdict."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from worker.cli.main import app


def run(config: Path, *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--config", str(config), "sources", "check", *arguments])
    return result.exit_code, result.output


def rows(output: str) -> dict[str, str]:
    """Each table row's target -> its whole line."""
    found = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if len(cells) >= 4 and cells[0] and cells[0] not in ("target",):
            found[cells[0]] = line
    return found


def test_every_source_and_picqer_answer(config_file: Path) -> None:
    code, output = run(config_file)
    assert code == 0, output
    table = rows(output)
    assert set(table) >= {"picqer", "shop-nl", "woo", "mage"}
    assert all(" ok " in table[name] for name in ("picqer", "shop-nl", "woo", "mage")), output
    assert "FAILED" not in output


def test_only_the_named_source(config_file: Path) -> None:
    code, output = run(config_file, "woo", "--no-picqer")
    assert code == 0, output
    assert set(rows(output)) & {"picqer", "shop-nl", "mage", "woo"} == {"woo"}


def test_a_refused_key_fails_with_what_the_service_said(config_file: Path) -> None:
    # the sandbox, like Picqer, refuses an empty API key with a 401
    config_file.write_text(config_file.read_text().replace('api_key = "env:TEST_PICQER_KEY"', 'api_key = ""'))
    code, output = run(config_file)
    assert code == 1
    table = rows(output)
    assert "FAILED" in table["picqer"]
    assert "401" in table["picqer"]
    assert all(" ok " in table[name] for name in ("shop-nl", "woo", "mage")), output  # the shops still answer


def test_an_unknown_source_exits_2(config_file: Path) -> None:
    code, output = run(config_file, "nope")
    assert code == 2
    assert "unknown source 'nope'" in output
