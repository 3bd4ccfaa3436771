"""``picqer-sync resync SOURCE``: pull a shop's orders now and push what is missing or changed.

The use case is ``worker.sync.resync.resync_source``; this module parses the options, shows a
progress bar on stderr and prints the summary (or JSON). While the bar is drawn on a terminal, log
lines are printed above it by the bar's console, never into it; the bar has a total when the
``--order`` values or the shop's listing (``listing_total``) give one. Exit 1 when any order failed (in a dry
run: could not be mapped, or failed before with the same input), 2 on usage errors.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from worker.cli.state import cli_state

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from worker.sync.order_numbers import PicqerLink, ResolvedOrder
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
# ``--json`` writes the orders as they are done, looking up their Picqer links this many at a time
LINKS_BATCH = 200


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
        typer.Option(
            "--order",
            metavar="ORDER",
            help="Only this shop order: its number as the shop shows it (#1009, 1009) or the "
            "platform's internal id (repeat for more).",
        ),
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
    from worker.sync.order_numbers import picqer_links, resolve_orders
    from worker.sync.resync import (
        FETCH_FAILED,
        ResyncLine,
        ResyncReport,
        ResyncWindow,
        WindowBasis,
        parse_since,
        resync_source,
    )

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
    given: dict[str, str] = {}  # shop order id -> the --order value that named it
    with (
        build_app(settings) as app,
        _progress(enabled=not as_json, total=len(order_ids) if order_ids else None) as bar,
    ):
        shop = platform.source_class(source)

        def links_of(shop_order_ids: Sequence[str]) -> dict[str, PicqerLink]:
            return picqer_links(app.engine, source=source.name, shop_order_ids=shop_order_ids)

        writer = JsonReportWriter(sys.stdout, links_of, given) if as_json else None

        def advance(line: ResyncLine) -> None:
            if not order_ids:
                bar.set_total(listing_total(shop))
            bar.advance(line)
            if writer is not None:
                writer.add(line)

        resolved: list[ResolvedOrder] = []
        try:
            if order_ids:
                resolved = resolve_orders(shop, order_ids, primary_key=platform.source_class.primary_key)
                given.update(
                    {item.shop_order_id: item.given for item in resolved if item.shop_order_id is not None}
                )
            wanted = [item.shop_order_id for item in resolved if item.shop_order_id is not None]
            if writer is not None:
                writer.start(source=source.name, dry_run=dry_run)
            if order_ids and not wanted:
                # nothing to fetch: given no ids, resync_source would read the cursor's whole window
                report = ResyncReport(
                    source.name, ResyncWindow(WindowBasis.ORDERS), dry_run, app.context.clock()
                )
            else:
                report = resync_source(
                    app.context,
                    source,
                    platform=platform,
                    open_source=lambda _source: shop,  # the connection the values were resolved on
                    since=since_at,
                    order_ids=wanted,
                    dry_run=dry_run,
                    on_line=advance,
                )
        finally:
            shop.close()  # resync_source closes it too; closing twice is harmless
        unmatched = [item for item in resolved if item.shop_order_id is None]
        for item in unmatched:
            line = ResyncLine(item.given, item.given, FETCH_FAILED, reason=item.reason)
            report.add(line)
            if writer is not None:
                writer.add(line)
        if writer is not None:
            writer.finish(report)
        else:
            shown = [*report.sample, *report.failures()]
            _print(report, links=links_of([line.shop_order_id for line in shown]), unmatched=unmatched)
    if report.failed:
        raise typer.Exit(code=1)


class JsonReportWriter:
    """``--json``: the report as one JSON document written as the run goes, so no order is kept
    until the end: ``source`` and ``dry_run`` first, each order as it is done (its Picqer link read
    from the mirror ``LINKS_BATCH`` orders at a time), then ``window``, ``counts``,
    ``listing_error`` and ``cursor_moved_to``. The same keys and values as before it streamed."""

    def __init__(
        self,
        out: TextIO,
        links_of: Callable[[Sequence[str]], Mapping[str, PicqerLink]],
        given: Mapping[str, str],
    ) -> None:
        self._out = out
        self._links_of = links_of
        self._given = given
        self._pending: list[ResyncLine] = []
        self._written = 0

    def start(self, *, source: str, dry_run: bool) -> None:
        head = json.dumps({"source": source, "dry_run": dry_run}, indent=2)
        self._out.write(head[:-2] + ',\n  "orders": [')  # the head without its closing brace

    def add(self, line: ResyncLine) -> None:
        self._pending.append(line)
        if len(self._pending) >= LINKS_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        links = self._links_of([line.shop_order_id for line in self._pending])
        for line in self._pending:
            separator = ",\n    " if self._written else "\n    "
            self._out.write(separator + json.dumps(_line_json(line, self._given, links)))
            self._written += 1
        self._pending.clear()
        self._out.flush()

    def finish(self, report: ResyncReport) -> None:
        self.flush()
        tail = {key: value for key, value in report_json(report).items() if key not in HEAD_KEYS}
        self._out.write(("\n  ]," if self._written else "],") + json.dumps(tail, indent=2)[1:] + "\n")
        self._out.flush()


HEAD_KEYS = ("source", "dry_run", "orders")


class ResyncBar:
    """The progress bar's handle: one step per order; a total once one is known."""

    def __init__(self, progress: Progress | None = None, task: TaskID | None = None) -> None:
        self._progress, self._task = progress, task

    def advance(self, line: ResyncLine) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, description=f"{line.order}: {line.outcome}")

    def set_total(self, total: int | None) -> None:
        if self._progress is not None and self._task is not None and total is not None:
            self._progress.update(self._task, total=total)


def listing_total(shop: object) -> int | None:
    """How many orders the running listing will yield, when the shop said so (WooCommerce's
    ``X-WP-Total``, Magento's ``total_count``, Shopify's ``ordersCount``): a source that knows sets
    ``listing_total``; one that does not leaves the bar counting without a total."""
    total = getattr(shop, "listing_total", None)
    return total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None


class _LinesAboveTheBar(io.TextIOBase):
    """Stands in for ``sys.stderr`` while the bar is drawn: each whole line is printed by the bar's
    console, which lifts the bar, prints the line and draws the bar again below it.

    It has no ``fileno()`` on purpose: a writer that finds a descriptor writes to it directly
    (``worker.logging.LineWriter`` does, to keep lines whole), and that is what drew log lines
    through the bar.
    """

    def __init__(self, console: Console) -> None:
        self._console = console
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line:
                self._console.print(Text.from_ansi(line), soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            line, self._pending = self._pending, ""
            self._console.print(Text.from_ansi(line), soft_wrap=True)

    def isatty(self) -> bool:
        return self._console.is_terminal


@contextmanager
def _progress(*, enabled: bool, total: int | None, console: Console | None = None) -> Iterator[ResyncBar]:
    """A progress bar on stderr (stdout stays for the summary); with no total it counts.

    On a terminal, what the process writes to stderr meanwhile (log lines) goes through the bar's
    console, above the bar; elsewhere there is no bar to protect and stderr is left as it is.
    """
    if not enabled:
        yield ResyncBar()
        return
    # the console keeps the real stream: it must not write into the stand-in below
    console = console or Console(file=sys.stderr)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    progress = Progress(
        *columns,
        TimeElapsedColumn(),
        console=console,
        transient=True,
        redirect_stdout=False,  # stdout is the summary's; nothing logs there
        redirect_stderr=False,  # done below, without a fileno() that would bypass the console
    )
    with progress:
        task = progress.add_task("resync", total=total)
        if not console.is_terminal:
            yield ResyncBar(progress, task)
            return
        real_stderr = sys.stderr
        sys.stderr = _LinesAboveTheBar(console)
        try:
            yield ResyncBar(progress, task)
        finally:
            sys.stderr.flush()
            sys.stderr = real_stderr


def report_json(
    report: ResyncReport,
    *,
    given: Mapping[str, str] | None = None,
    links: Mapping[str, PicqerLink] | None = None,
) -> dict[str, Any]:
    """The report; ``orders`` holds the lines it kept (the ``--json`` command writes every order's
    line as it goes instead: :class:`JsonReportWriter`). Each order also carries the ``--order``
    value that named it (``given``) and, from the mirror, its shop number and Picqer ``orderid``."""
    given, links = given or {}, links or {}
    return {
        "source": report.source,
        "dry_run": report.dry_run,
        "window": {
            "basis": report.window.basis.value,
            "since": report.window.since.isoformat() if report.window.since else None,
            "description": report.window.describe(),
        },
        "counts": report.counts(),
        "orders": [_line_json(line, given, links) for line in report.sample],
        "listing_error": report.listing_error,
        "cursor_moved_to": report.cursor_moved_to.isoformat() if report.cursor_moved_to else None,
    }


def _line_json(line: ResyncLine, given: Mapping[str, str], links: Mapping[str, PicqerLink]) -> dict[str, Any]:
    link = links.get(line.shop_order_id)
    return {
        **asdict(line),
        "given": given.get(line.shop_order_id, line.shop_order_id if line.outcome == "failed" else None),
        "shop_order_number": link.shop_order_number if link else None,
        "orderid": link.orderid if link else None,
    }


def _print(
    report: ResyncReport,
    *,
    links: Mapping[str, PicqerLink] | None = None,
    unmatched: Sequence[ResolvedOrder] = (),
) -> None:
    console = Console(width=160)
    mode = "dry run: nothing sent, nothing written" if report.dry_run else "pushed to Picqer"
    console.print(f"[bold]{report.source}[/]: {report.window.describe()}; {mode}")
    if report.dry_run:
        console.print(_orders_table(report.sample, title="what would happen"))
        _more(console, report.total - len(report.sample), "order(s)")
    console.print(_summary_table(report))
    failing = report.failures()
    if failing:
        console.print(_orders_table(failing, title="failed orders"))
        _more(console, report.failures_not_kept, "failed order(s)")
    if not report.dry_run:
        for text in mapping_lines(report, links or {}):
            console.print(text, markup=False, highlight=False)
        _more(console, report.total - len(report.sample), "order(s)")
    if unmatched:
        values = ", ".join(item.given for item in unmatched)
        console.print(f"[red]no order in the shop matches {values}[/]", highlight=False)
    if report.listing_error:
        console.print(f"[red]{report.listing_error}[/]; the poll cursor was not moved")
    elif report.cursor_moved_to is not None:
        console.print(f"poll cursor moved to {_moment(report.cursor_moved_to)} (the time this run started)")


def _more(console: Console, count: int, what: str) -> None:
    """The summary shows the first orders only: a resync of 100,000 orders keeps no list of them."""
    if count > 0:
        console.print(f"... and {count} more {what}; `--json` lists every order", highlight=False)


def mapping_lines(report: ResyncReport, links: Mapping[str, PicqerLink]) -> list[str]:
    """``shop #1009 (id 450789469) -> Picqer idorder 10001 (orderid 20260001)`` per order in Picqer
    (of the first orders the report kept)."""
    lines = []
    for line in report.sample:
        link = links.get(line.shop_order_id)
        idorder = link.idorder if link and link.idorder is not None else line.idorder
        if idorder is None:
            continue
        number = link.shop_order_number if link else line.order
        shown = number if number.startswith("#") else f"#{number}"
        orderid = f" (orderid {link.orderid})" if link and link.orderid else ""
        lines.append(f"shop {shown} (id {line.shop_order_id}) -> Picqer idorder {idorder}{orderid}")
    return lines


def _summary_table(report: ResyncReport) -> Table:
    table = Table(title=f"{report.total} order(s)")
    table.add_column("outcome")
    table.add_column("orders", justify="right")
    table.add_column("why", overflow="fold")
    counts = report.counts()
    for outcome in sorted(counts, key=lambda name: _rank(name)):
        reasons = _reasons(report.reasons(outcome)) if outcome in WITH_REASONS else ""
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


def _reasons(counted: Mapping[str, int]) -> str:
    """``unpaid (2); nothing to ship (1)``: each distinct reason once, with how often."""
    return "; ".join(f"{reason} ({count})" for reason, count in counted.items())


def _rank(outcome: str) -> int:
    return OUTCOME_ORDER.index(outcome) if outcome in OUTCOME_ORDER else len(OUTCOME_ORDER)


def _moment(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="seconds") + " UTC"


def register(app: typer.Typer) -> None:
    app.command("resync")(resync)
