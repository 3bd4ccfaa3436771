"""``picqer-sync status [--json]``: what the status page shows, in the terminal."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from worker.app import build_app
from worker.cli.state import cli_state
from worker.receiver.status import StatusReport, build_status_report, format_lag
from worker.sync.retention import InboxRetention, inbox_retention


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if hasattr(value, "strftime") else "-"


def print_report(report: StatusReport, console: Console, retention: InboxRetention | None = None) -> None:
    if report.problems:
        problems = Table(title="Problems (nothing moves for these until a person fixes them)")
        for column in ("account or source", "problem", "detail", "since (UTC)"):
            problems.add_column(column, overflow="fold")
        for problem in report.problems:
            problems.add_row(problem.target, problem.problem, problem.detail, _when(problem.since))
        console.print(problems)

    sources = Table(title="Sources")
    for column in ("source", "platform", "first poll from (UTC)", "cursor (UTC)", "lag", "orders by state"):
        sources.add_column(column)
    for source in report.sources:
        states = ", ".join(f"{k}: {v}" for k, v in sorted(source.orders_by_state.items())) or "-"
        name = source.name + ("" if source.enabled else " (disabled)")
        start = _when(source.start_at) if source.start_at else "7 days before the first poll"
        sources.add_row(
            name, source.platform, start, _when(source.cursor), format_lag(source.lag_seconds), states
        )
    console.print(sources)

    failures = Table(title=f"Failures ({len(report.failures)})")
    for column in ("id", "source", "reference", "step", "reason"):
        failures.add_column(column)
    for failure in report.failures:
        failures.add_row(
            str(failure.order_id), failure.source, failure.reference, failure.step or "-", failure.reason
        )
    console.print(failures)

    if report.needs_person:
        person = Table(title=f"Needs a person ({len(report.needs_person)}): `failures resolve ID` when done")
        for column in ("id", "source", "reference", "state", "why"):
            person.add_column(column)
        for item in report.needs_person:
            person.add_row(str(item.order_id), item.source, item.reference, item.state, item.reason)
        console.print(person)

    hooks = Table(title="Hooks")
    for column in ("target", "event", "active", "last checked (UTC)"):
        hooks.add_column(column)
    for hook in report.hooks:
        hooks.add_row(hook.target, hook.event, "yes" if hook.active else "NO", _when(hook.last_checked_at))
    console.print(hooks)

    inbox = report.inbox
    depth = (
        "unknown"
        if report.queue_depth is None
        else (", ".join(f"{name}: {count}" for name, count in report.queue_depth.items()) or "0")
    )
    console.print(
        f"Webhooks waiting: {inbox.pending} (oldest {_when(inbox.oldest_pending_at)}), "
        f"given up: {inbox.given_up}. "
        f"Queue depth: {depth}. Reconcile cursor: {_when(report.reconcile_cursor)}."
    )
    if retention is not None:
        console.print(retention.describe())
    for note in report.notes:
        console.print(f"note: {note}")


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Per source cursor and lag, orders by state, failures with reasons, queue depth, hook health,
    and the inbox's oldest kept webhook against the retention (``inbox_retention_days``).

    Read from the mirror (and Redis for the queue depth); asks neither Picqer nor the shops.
    """
    settings = cli_state(ctx).mirror_settings()
    with build_app(settings) as app:
        # only Redis holds the queue of the running processes; this process's own queue is empty
        depths = app.queue_depths if app.redis is not None else None
        report = build_status_report(settings, app.engine, queue_depths=depths)
        retention = inbox_retention(app.engine, settings, now=report.generated_at)
    if depths is None:
        report.notes.append("in-process queue: its depth is on the running process's /status and /metrics")
    if as_json:
        shown = report.as_json()
        shown["retention"] = retention.as_json()
        typer.echo(json.dumps(shown, indent=2))
    else:
        print_report(report, Console(), retention)


def register(app: typer.Typer) -> None:
    app.command("status")(status)
