"""``picqer-sync sources check [NAME]``: does each shop (and Picqer) take the configured credentials?"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from worker.cli.state import cli_state
from worker.errors import ConfigError
from worker.sync.connections import ConnectionCheck, check_picqer, check_source

sources_app = typer.Typer(help="The shops orders come from.", no_args_is_help=True)


@sources_app.command("check")
def check(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this source (default: every source).")] = None,
    picqer: Annotated[bool, typer.Option(help="Check the Picqer account too.")] = True,
) -> None:
    """Call each shop once with its configured credentials, and Picqer, and say what works.

    One read per shop (its orders changed in the last day) and one per Picqer account (its
    warehouses); nothing is written. Exits 1 when any check failed, 2 for an unknown source.
    """
    from worker.app import build_app

    settings = cli_state(ctx).settings()
    try:
        sources = [settings.source(name)] if name is not None else list(settings.sources)
    except ConfigError as error:
        typer.echo(f"error: {error.reason}", err=True)
        raise typer.Exit(code=2) from None
    results: list[ConnectionCheck] = []
    with build_app(settings) as app:
        if picqer:
            results.append(check_picqer(app.picqer, url=settings.picqer.url))
        now = app.context.clock()
        results += [check_source(source, open_source=app.context.open_source, now=now) for source in sources]
    table = Table(title="Connections")
    for column in ("target", "platform", "auth", "result", "detail"):
        table.add_column(column)
    for result in results:
        table.add_row(
            result.target, result.platform, result.auth, "ok" if result.ok else "FAILED", result.detail
        )
    Console(width=160).print(table)
    if not all(result.ok for result in results):
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(sources_app, name="sources")
