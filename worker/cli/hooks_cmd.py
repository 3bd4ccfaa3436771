"""``picqer-sync hooks sync``: the Picqer hooks and the shops' order webhooks, idempotently."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from worker.cli.state import cli_state
from worker.sync.hook_reconcile import reconcile_hooks

hooks_app = typer.Typer(help="Picqer hooks and shop webhooks that feed the receiver.", no_args_is_help=True)


@hooks_app.command("sync")
def sync(
    ctx: typer.Context,
    picqer: Annotated[bool, typer.Option(help="Sync the Picqer hooks.")] = True,
    shops: Annotated[
        bool, typer.Option(help="Sync the shops' order webhooks (where the platform has them).")
    ] = True,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the plan; change nothing in Picqer, the shops or the mirror."),
    ] = False,
) -> None:
    """Reconcile our hooks with {public_url}/webhooks/...: keep, create, move, reactivate, remove.

    Picqer: one hook per event (orders.status_changed, orders.completed, orders.paused,
    orders.resumed, picklists.shipments.created), signed with picqer.webhook_secret. Shops: the order
    webhooks of every enabled Shopify and WooCommerce source (Magento is polled). Ours (Picqer hooks
    named "picqer-sync ..." or at .../webhooks/picqer; shop webhooks at .../webhooks/sources/NAME)
    that point at an old public_url are moved, ours no longer needed are removed, deactivated ones
    reactivated; hooks that are not ours are never touched. A second run only keeps.
    Exits 1 when any hook could not be synced, 2 when Picqer refuses the key or cannot be reached.
    """
    from worker.app import build_app
    from worker.infra.services import mask_url
    from worker.sync.connections import check_picqer

    settings = cli_state(ctx).mirror_settings()
    secret = settings.picqer.webhook_secret.get_secret_value()
    if picqer and not secret:
        typer.echo("error: picqer.webhook_secret is empty; Picqer hooks must be signed", err=True)
        raise typer.Exit(code=2)
    with build_app(settings) as app:
        if picqer:
            # one read first: a refused key is the config's mistake, said in a line, not a table of failures
            access = check_picqer(app.picqer, url=settings.picqer.url)
            if not access.ok:
                typer.echo(
                    f"error: cannot sync the Picqer hooks: {access.detail} "
                    f"(picqer.url = {mask_url(settings.picqer.url)}, picqer.api_key)",
                    err=True,
                )
                raise typer.Exit(code=2)
        results = reconcile_hooks(
            settings, app.engine, app.picqer, secret=secret, picqer=picqer, shops=shops, dry_run=dry_run
        )
    table = Table(title="Hooks: the plan (dry run: nothing changed)" if dry_run else "Hooks")
    for column in ("target", "event", "action", "address", "id", "detail"):
        table.add_column(column, overflow="fold")
    for result in results:
        table.add_row(
            result.target,
            result.event,
            result.action,
            result.address or "",
            result.remote_id or "-",
            result.detail or "",
        )
    Console(width=200).print(table)
    if any(result.action == "failed" for result in results):
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(hooks_app, name="hooks")
