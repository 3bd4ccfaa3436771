"""The ``picqer-sync`` command: one typer app; each command group lives in its own module.

Each module under ``worker/cli/`` exposes ``register(app)``; this file only lists them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from worker.cli.state import CliState

app = typer.Typer(
    name="picqer-sync",
    help="Sync paid webshop orders (Shopify, WooCommerce, Magento 2) into Picqer, exactly once.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="TOML config file (default: $PICQER_SYNC_CONFIG).", envvar="PICQER_SYNC_CONFIG"
        ),
    ] = None,
) -> None:
    ctx.obj = CliState(config_file=config)


def _register_commands() -> None:
    from worker.cli import (
        db_cmd,
        demo_cmd,
        failures_cmd,
        hooks_cmd,
        push_cmd,
        reconcile_cmd,
        resync_cmd,
        run_cmd,
        sandbox_cmd,
        sources_cmd,
        status_cmd,
    )

    for module in (
        run_cmd,
        resync_cmd,
        push_cmd,
        reconcile_cmd,
        status_cmd,
        failures_cmd,
        hooks_cmd,
        sources_cmd,
        db_cmd,
        sandbox_cmd,
        demo_cmd,
    ):
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()
