"""``picqer-sync push SOURCE --file FILE...``: push given shop orders now, in the foreground."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from worker.cli.state import cli_state

if TYPE_CHECKING:
    from adapters.platform import ShopPlatform
    from worker.config import SourceSettings
    from worker.sync.context import SyncContext


@dataclass(frozen=True)
class PushLine:
    """One order's outcome as the command prints it."""

    file: str
    order: str
    outcome: str
    idorder: int | None
    detail: str


def push(
    ctx: typer.Context,
    source_name: Annotated[str, typer.Argument(metavar="SOURCE", help="A source name from the config.")],
    files: Annotated[
        list[Path],
        typer.Option(
            "--file",
            "-f",
            help='The platform\'s own order JSON: one order, {"order": ...}, {"orders": [...]}, '
            "or a WooCommerce array. Repeat for more files.",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcomes as JSON.")] = False,
) -> None:
    """Push shop orders given as files through mapping and the push pipeline, now.

    The file is taken as the order's current state (nothing is fetched from the shop). Pushing the
    same order again never makes a second Picqer order; a later state of the same order (paid,
    cancelled, a new address) moves the Picqer order along. Exits 1 when any order failed.
    """
    from adapters.registry import get_platform
    from worker.app import build_app
    from worker.errors import ConfigError

    settings = cli_state(ctx).mirror_settings()
    try:
        source = settings.source(source_name)
        platform = get_platform(source.platform)
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    lines: list[PushLine] = []
    with build_app(settings) as app:
        for path in files:
            lines.extend(_push_file(app.context, platform, source, path))
    _print(lines, as_json=as_json)
    if any(line.outcome == "failed" for line in lines):
        raise typer.Exit(code=1)


def _push_file(
    context: SyncContext, platform: ShopPlatform, source: SourceSettings, path: Path
) -> list[PushLine]:
    from worker.sync.files import UnreadableOrderFile, read_order_file
    from worker.sync.shop_orders import push_shop_order_now

    try:
        orders = read_order_file(path)
    except UnreadableOrderFile as error:
        return [PushLine(str(path), "-", "failed", None, error.reason)]
    lines: list[PushLine] = []
    for raw in orders:
        outcome = push_shop_order_now(context, platform, source, raw)
        lines.append(
            PushLine(
                file=str(path),
                order=outcome.reference or outcome.shop_order_id,
                outcome=outcome.kind.value,
                idorder=outcome.idorder,
                detail=outcome.reason or "",
            )
        )
    return lines


def _print(lines: list[PushLine], *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([asdict(line) for line in lines], indent=2))
        return
    table = Table(title=f"{len(lines)} order(s)")
    for name in ("file", "order", "outcome", "idorder", "detail"):
        table.add_column(name, overflow="fold")
    for line in lines:
        idorder = str(line.idorder) if line.idorder is not None else ""
        table.add_row(Path(line.file).name, line.order, line.outcome, idorder, line.detail)
    Console(width=160).print(table)


def register(app: typer.Typer) -> None:
    app.command("push")(push)
