"""``picqer-sync reconcile [--since DATE]``: pull order state from Picqer into the mirror."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from worker.cli.state import cli_state


def reconcile(
    ctx: typer.Context,
    since: Annotated[
        datetime | None,
        typer.Option(help="Also read orders Picqer changed since then (Picqer time). Default: the last run."),
    ] = None,
) -> None:
    """Read open and recently changed Picqer orders and repair the mirror.

    Orders Picqer has but the mirror lost track of (a create whose answer never came) are adopted
    by reference, and their push is finished (tags, process).
    """
    from worker.app import build_app
    from worker.sync.repair import reconcile_and_resume

    settings = cli_state(ctx).mirror_settings()
    with build_app(settings) as app:
        # adopted concept orders: their push is finished (tags, process) as the worker would
        repaired = reconcile_and_resume(app.context, since)
    summary, resumed = repaired.summary, repaired.resumed
    table = Table(title="reconcile")
    table.add_column("since")
    for name in ("read", "updated", "adopted", "not ours", "completed", "resumed", "skipped (locked)"):
        table.add_column(name, justify="right")
    table.add_row(
        summary.since.strftime("%Y-%m-%d %H:%M:%S") if summary.since else "open orders only",
        str(summary.seen),
        str(summary.updated),
        str(summary.adopted),
        str(summary.unknown),
        str(len(summary.newly_completed)),
        str(sum(outcome.kind == "pushed" for outcome in resumed)),
        str(len(summary.skipped_locked)),
    )
    Console().print(table)
    if summary.skipped_locked:
        Console().print(
            f"skipped {len(summary.skipped_locked)} locked order(s) (mirror ids "
            f"{', '.join(map(str, summary.skipped_locked))}): another worker holds them; "
            "the next reconcile adopts them"
        )


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile)
