"""``picqer-sync hooks sync``: the Picqer hooks and the shops' order webhooks, idempotently."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from worker.cli.state import cli_state
from worker.sync.hooks import HookResult, picqer_hook_address, sync_picqer_hooks, sync_shop_webhooks

hooks_app = typer.Typer(help="Picqer hooks and shop webhooks that feed the receiver.", no_args_is_help=True)


@hooks_app.command("sync")
def sync(
    ctx: typer.Context,
    picqer: Annotated[bool, typer.Option(help="Sync the Picqer hooks.")] = True,
    shops: Annotated[
        bool, typer.Option(help="Sync the shops' order webhooks (where the platform has them).")
    ] = True,
) -> None:
    """Make sure the hooks exist, are active and point at {public_url}/webhooks/...

    Picqer: one hook per event (orders.status_changed, orders.completed, orders.paused,
    orders.resumed, picklists.shipments.created), signed with picqer.webhook_secret; deactivated
    hooks are reactivated, hooks with another secret are replaced. Shops: the order webhooks of
    every enabled Shopify and WooCommerce source (Magento is polled). Safe to run again.
    Exits 1 when any hook could not be synced.
    """
    from worker.app import build_app

    settings = cli_state(ctx).mirror_settings()
    secret = settings.picqer.webhook_secret.get_secret_value()
    if picqer and not secret:
        typer.echo("error: picqer.webhook_secret is empty; Picqer hooks must be signed", err=True)
        raise typer.Exit(code=2)
    results: list[HookResult] = []
    with build_app(settings) as app:
        if picqer:
            results += sync_picqer_hooks(
                app.picqer, app.engine, address=picqer_hook_address(settings), secret=secret
            )
        if shops:
            results += sync_shop_webhooks(settings, app.engine)
    table = Table(title="Hooks")
    for column in ("target", "event", "action", "id", "detail"):
        table.add_column(column)
    for result in results:
        table.add_row(
            result.target, result.event, result.action, result.remote_id or "-", result.detail or ""
        )
    Console().print(table)
    if any(result.action == "failed" for result in results):
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(hooks_app, name="hooks")
