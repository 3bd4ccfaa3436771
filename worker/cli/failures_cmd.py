"""``picqer-sync failures [--json]``, ``failures retry [ID|--all]`` and ``failures resolve ID``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from worker.cli.state import cli_state

failures_app = typer.Typer(
    help="Orders that could not be synced, with the reason.", invoke_without_command=True
)


@failures_app.callback()
def failures(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array, for scripts.")] = False,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
) -> None:
    """List failed orders, and paused orders and conflicts that need a person."""
    if ctx.invoked_subcommand is not None:
        return
    from worker.app import build_app
    from worker.sync.failures import list_failures

    settings = cli_state(ctx).mirror_settings()
    with build_app(settings) as app:
        rows = list_failures(app.engine, source=source)
    if as_json:
        payload = [
            {
                "id": row.order_id,
                "source": row.source,
                "shop_order_id": row.shop_order_id,
                "shop_order_number": row.shop_order_number,
                "state": row.state,
                "step": row.step,
                "reason": row.reason,
                "attempts": row.attempts,
                "idorder": row.idorder,
                "updated_at": row.updated_at.isoformat() + "Z",
            }
            for row in rows
        ]
        typer.echo(json.dumps(payload, indent=2))
        return
    if not rows:
        typer.echo("no failed orders, nothing for a person to decide")
        return
    table = Table(title=f"{len(rows)} order(s) need attention")
    for name in ("id", "source", "order", "state", "step", "reason", "attempts", "updated (UTC)"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(
            str(row.order_id),
            row.source,
            row.shop_order_number,
            row.state,
            row.step or "",
            row.reason,
            str(row.attempts),
            row.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    Console().print(table)
    if any(row.state != "failed" for row in rows):
        typer.echo(
            "paused and conflict: decide in Picqer and the shop, then `picqer-sync failures resolve ID`"
        )


@failures_app.command("resolve")
def resolve(
    ctx: typer.Context,
    order_id: Annotated[int, typer.Argument(help="The id shown by `failures`.")],
) -> None:
    """Mark a paused order or a conflict as handled by a person (it leaves the list)."""
    from worker.app import build_app
    from worker.sync.failures import resolve_order

    settings = cli_state(ctx).mirror_settings()
    with build_app(settings) as app:
        resolved = resolve_order(app.context, order_id=order_id)
    if resolved is None:
        typer.echo(f"order {order_id} is not a paused order or a conflict", err=True)
        raise typer.Exit(code=1)
    typer.echo(
        f"order {order_id} ({resolved.source} {resolved.reference}) resolved: now {resolved.sync_state}"
    )


@failures_app.command("retry")
def retry(
    ctx: typer.Context,
    order_id: Annotated[int | None, typer.Argument(help="The id shown by `failures`.")] = None,
    retry_all: Annotated[bool, typer.Option("--all", help="Retry every failed order.")] = False,
) -> None:
    """Push failed orders again from their stored shop order, resuming at the failed step; an order
    that failed before it was mapped is fetched from the shop again."""
    if (order_id is None) == (not retry_all):
        typer.echo("error: give an order ID or --all (not both)", err=True)
        raise typer.Exit(code=2)
    from worker.app import build_app
    from worker.sync.failures import retry_failures

    settings = cli_state(ctx).mirror_settings()
    with build_app(settings) as app:
        order_ids = None if retry_all else [order_id] if order_id else []
        outcomes = retry_failures(app.context, order_ids=order_ids)
    if not outcomes:
        typer.echo("nothing to retry" if retry_all else f"order {order_id} is not a failed order")
        raise typer.Exit(code=0 if retry_all else 1)
    table = Table(title="retry")
    for name in ("id", "source", "reference", "outcome", "idorder", "reason"):
        table.add_column(name, overflow="fold")
    for item in outcomes:
        table.add_row(
            str(item.order_id),
            item.source,
            item.reference,
            item.kind.value,
            str(item.idorder or ""),
            item.reason or "",
        )
    Console().print(table)
    if any(item.kind.value == "failed" for item in outcomes):
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(failures_app, name="failures")
