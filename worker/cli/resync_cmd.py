"""``picqer-sync resync SOURCE``: pull a shop's orders now and push what is missing or changed.

The use case is ``worker.sync.resync.resync_source``; this module parses the options, shows a
progress bar on stderr and prints the summary (or JSON). Exit 1 when any order failed (in a dry
run: could not be mapped, or failed before with the same input), 2 on usage errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from worker.cli.state import cli_state

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from worker.sync.resync import ResyncLine, ResyncReport

# the order of the summary rows: a real run's outcomes, then a dry run's predictions
OUTCOME_ORDER = (
    "pushed",
    "updated",
    "unchanged",
    "skipped",
    "cancelled",
    "paused",
    "conflict",
    "failed",
    "would push",
    "would update",
    "up to date",
    "would skip",
    "would cancel",
    "would conflict",
    "would fail",
    "cannot map",
)
# outcomes whose reasons the summary groups (the rest need none, or are listed one by one)
WITH_REASONS = ("skipped", "paused", "conflict", "would skip", "would cancel", "would conflict")


def resync(
    ctx: typer.Context,
    source_name: Annotated[str, typer.Argument(metavar="SOURCE", help="A source name from the config.")],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="Orders changed since this ISO date or datetime (UTC unless it has an offset). "
            "Default: the poll cursor minus its overlap window, or every order when there is none.",
        ),
    ] = None,
    order_ids: Annotated[
        list[str] | None,
        typer.Option("--order", metavar="ID", help="Only this shop order id (repeat for more)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Map and compare with the mirror; send nothing, write nothing."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Pull orders from a shop and push what is missing or changed, with a summary.

    Only a run without --since and --order moves the poll cursor (as the scheduled poll does: to the
    time the run started, after the whole listing was read); a dry run never does.
    """
    from adapters.registry import get_platform
    from worker.app import build_app
    from worker.errors import ConfigError
    from worker.sync.resync import parse_since, resync_source

    settings = cli_state(ctx).mirror_settings()
    try:
        source = settings.source(source_name)
        platform = get_platform(source.platform)
        since_at = parse_since(since) if since is not None else None
    except (ConfigError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    if since_at is not None and order_ids:
        typer.echo("error: give --since or --order, not both", err=True)
        raise typer.Exit(code=2)
    with (
        build_app(settings) as app,
        _progress(enabled=not as_json, total=len(order_ids) if order_ids else None) as advance,
    ):
        report = resync_source(
            app.context,
            source,
            platform=platform,
            open_source=platform.source_class,
            since=since_at,
            order_ids=order_ids or (),
            dry_run=dry_run,
            on_line=advance,
        )
    if as_json:
        typer.echo(json.dumps(report_json(report), indent=2))
    else:
        _print(report)
    if report.failed:
        raise typer.Exit(code=1)


@contextmanager
def _progress(*, enabled: bool, total: int | None) -> Iterator[Callable[[ResyncLine], None]]:
    """A progress bar on stderr (stdout stays for the summary); with no total it counts."""
    if not enabled:
        yield lambda _line: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("resync", total=total)

        def advance(line: ResyncLine) -> None:
            progress.update(task, advance=1, description=f"{line.order}: {line.outcome}")

        yield advance


def report_json(report: ResyncReport) -> dict[str, Any]:
    return {
        "source": report.source,
        "dry_run": report.dry_run,
        "window": {
            "basis": report.window.basis.value,
            "since": report.window.since.isoformat() if report.window.since else None,
            "description": report.window.describe(),
        },
        "counts": report.counts(),
        "orders": [asdict(line) for line in report.lines],
        "listing_error": report.listing_error,
        "cursor_moved_to": report.cursor_moved_to.isoformat() if report.cursor_moved_to else None,
    }


def _print(report: ResyncReport) -> None:
    console = Console(width=160)
    mode = "dry run: nothing sent, nothing written" if report.dry_run else "pushed to Picqer"
    console.print(f"[bold]{report.source}[/]: {report.window.describe()}; {mode}")
    if report.dry_run:
        console.print(_orders_table(report.lines, title="what would happen"))
    console.print(_summary_table(report))
    failing = report.failures()
    if failing:
        console.print(_orders_table(failing, title="failed orders"))
    if report.listing_error:
        console.print(f"[red]{report.listing_error}[/]; the poll cursor was not moved")
    elif report.cursor_moved_to is not None:
        console.print(f"poll cursor moved to {_moment(report.cursor_moved_to)} (the time this run started)")


def _summary_table(report: ResyncReport) -> Table:
    table = Table(title=f"{len(report.lines)} order(s)")
    table.add_column("outcome")
    table.add_column("orders", justify="right")
    table.add_column("why", overflow="fold")
    counts = report.counts()
    for outcome in sorted(counts, key=lambda name: _rank(name)):
        reasons = _reasons(report.lines, outcome) if outcome in WITH_REASONS else ""
        table.add_row(outcome, str(counts[outcome]), reasons)
    return table


def _orders_table(lines: list[ResyncLine], *, title: str) -> Table:
    table = Table(title=title)
    for name in ("order", "shop id", "outcome", "idorder", "why"):
        table.add_column(name, overflow="fold")
    for line in lines:
        idorder = str(line.idorder) if line.idorder is not None else ""
        table.add_row(line.order, line.shop_order_id, line.outcome, idorder, line.reason)
    return table


def _reasons(lines: list[ResyncLine], outcome: str) -> str:
    """``unpaid (2); nothing to ship (1)``: each distinct reason once, with how often."""
    counted: dict[str, int] = {}
    for line in lines:
        if line.outcome == outcome and line.reason:
            counted[line.reason] = counted.get(line.reason, 0) + 1
    return "; ".join(f"{reason} ({count})" for reason, count in counted.items())


def _rank(outcome: str) -> int:
    return OUTCOME_ORDER.index(outcome) if outcome in OUTCOME_ORDER else len(OUTCOME_ORDER)


def _moment(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="seconds") + " UTC"


def register(app: typer.Typer) -> None:
    app.command("resync")(resync)
