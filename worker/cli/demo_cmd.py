"""``picqer-sync demo``: the whole pipeline against the sandbox, then a summary (see worker/demo/).

It reads no config file: embedded defaults only, so it works on a fresh machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from worker.logging import configure_logging

if TYPE_CHECKING:
    # imported when the demo runs: the demo pulls in the sandbox, which every other command (a
    # worker restarted by its supervisor, say) would otherwise load at start for nothing
    from worker.demo import DemoResult, OrderReport


def _outcome(report: OrderReport) -> str:
    from worker.demo import Expect

    if report.problem is not None:
        return "[red]✗ wrong[/red]"
    colour = "green" if report.planned.expect is Expect.SHIPPED else "yellow"
    return f"[{colour}]✓ {report.planned.expect.value}[/{colour}]"


def summary_table(result: DemoResult) -> Table:
    table = Table(
        title="every order", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0)
    )
    for column in ("source", "order", "idorder", "status", "tracking", "shop", "outcome"):
        table.add_column(column, no_wrap=column in ("source", "tracking"))
    for report in result.orders:
        table.add_row(
            report.planned.source,
            report.planned.shop_order_number,
            str(report.idorder) if report.idorder is not None else "-",
            report.picqer_status or report.sync_state or "-",  # Picqer's status once it has the order
            report.trackingcode or "-",
            "yes" if report.reported else "no",  # the shop recorded the fulfilment with tracking
            _outcome(report),
        )
    return table


def reason_lines(result: DemoResult) -> list[str]:
    """Why each order that did not ship was failed or skipped, and what went wrong where."""
    lines = []
    for report in result.orders:
        name = f"{report.planned.source} {report.planned.shop_order_number}"
        if report.problem is not None:
            lines.append(f"[red]✗ {name}: {report.problem}[/red]")
        elif report.reason:
            lines.append(f"  {name} {report.sync_state}: {report.reason}")
    return lines


def totals_table(result: DemoResult) -> Table:
    table = Table(title="totals", title_justify="left", show_header=False, box=box.SIMPLE)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("pushed to Picqer", str(result.pushed))
    table.add_row("failed, with a reason", str(result.failed))
    table.add_row("skipped (not for the warehouse)", str(result.skipped))
    table.add_row("Picqer API requests", str(result.picqer_requests))
    table.add_row("Picqer 429 answers", str(result.rate_limited))
    table.add_row("seconds", f"{result.seconds:.1f}")
    return table


def demo(
    keep: Annotated[
        Path | None,
        typer.Option("--keep", help="Keep the mirror (SQLite) in this directory instead of a temporary one."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(min=1.0, help="Seconds to wait for each stage before giving up (30 by default)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the worker's log lines too.")] = False,
) -> None:
    """The whole pipeline on embedded defaults against the sandbox, end to end, then a summary.

    Starts the sandbox, the receiver, worker threads and a temporary mirror on 127.0.0.1; registers
    the hooks; makes paid orders in Shopify, WooCommerce and Magento, one that cannot go and one
    unpaid; ships them in Picqer and checks that each shop heard. Exits 1 unless every order ended
    as expected.
    """
    from worker.demo import DEFAULT_TIMEOUT, run_demo

    console = Console()
    # the demo speaks in progress lines and a table; the worker's own log lines only on request
    configure_logging(log_format="console", level="INFO" if verbose else "CRITICAL")

    def progress(line: str) -> None:
        console.print(f"[green]✓[/green] {line}")

    console.print("[bold]picqer-sync demo[/bold]: the whole pipeline against the local sandbox")
    try:
        result = run_demo(
            keep=keep, progress=progress, timeout=DEFAULT_TIMEOUT if timeout is None else timeout
        )
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]; everything the demo started has been stopped")
        raise typer.Exit(code=130) from None
    console.print(summary_table(result))
    for line in reason_lines(result):
        console.print(line)
    console.print(totals_table(result))
    if result.mirror is not None:
        console.print(f"mirror kept at {result.mirror} (open it with sqlite3)")
    if result.error is not None:
        console.print(f"[red]✗ {result.error}[/red]")
    if not result.ok:
        console.print("[red]✗ not every order ended as expected[/red]")
        raise typer.Exit(code=1)
    console.print(f"[green]✓ every order ended as expected, in {result.seconds:.1f} s[/green]")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
