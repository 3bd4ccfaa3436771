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
    typer.echo(sandbox_banner(f"http://127.0.0.1:{port}"))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def sandbox_banner(base: str) -> str:
    """Where each simulated API lives, and where a config finds its credentials and webhook secrets."""
    return "\n".join(
        (
            f"sandbox at {base} (every platform has the seeded shop demo-shop):",
            f"  Picqer API       {base}/picqer/api/v1/  (Basic auth: the API key as user name)",
            f"  Shopify Admin    {base}/shopify/{{shop}}/admin/api/{{version}}/graphql.json  (and REST)",
            f"  Shopify token    {base}/shopify/{{shop}}/admin/oauth/access_token  (client credentials)",
            f"  WooCommerce      {base}/woocommerce/{{shop}}/wp-json/wc/v3/",
            f"  Magento          {base}/magento/{{shop}}/rest/V1/",
            f"  a source's url   {base}/{{shopify,woocommerce,magento}}/{{shop}}",
            f"  test control     {base}/_sandbox/  (every endpoint: {base}/_sandbox/docs)",
            f"  credentials      {base}/_sandbox/credentials  (every shop's keys by platform and shop,",
            "                   ?shop=NAME for one; webhook_secrets: where each webhook secret comes from)",
        )
    )


def register(app: typer.Typer) -> None:
    app.command("sandbox")(sandbox)
