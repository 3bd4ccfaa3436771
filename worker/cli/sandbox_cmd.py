"""``picqer-sync sandbox``: serve the simulators of Picqer and the shops on 127.0.0.1."""

from __future__ import annotations

from typing import Annotated

import typer


def sandbox(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8700,
    rate_limit: Annotated[int, typer.Option(help="Picqer requests per minute before 429s (0: none).")] = 500,
    api_key: Annotated[
        str | None, typer.Option(help="Accept only this Picqer API key (default: any non-empty key).")
    ] = None,
    seed: Annotated[bool, typer.Option(help="Load the demo data (products, stock, shop orders).")] = True,
) -> None:
    """Serve the Picqer and shop simulators (see README, 'Sandbox')."""
    import uvicorn

    from sandbox.app import create_sandbox_app

    app = create_sandbox_app(rate_limit=rate_limit or None, api_key=api_key, seed=seed)
    typer.echo(f"sandbox: Picqer API at http://127.0.0.1:{port}/picqer/api/v1/")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("sandbox")(sandbox)
