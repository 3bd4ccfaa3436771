"""The ``picqer-sync`` command: one typer app; each command group lives in its own module.

Each module under ``worker/cli/`` exposes ``register(app)``; this file lists them, and holds the one
error boundary of every command: a mistake a user can make (a broken config file, a database or
Redis that is down, a key Picqer refuses) is answered in a line or two that names the cause and the
key, file or service at fault, with no secret and no traceback, and exit code 2. Anything else is a
bug, and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from worker.cli.state import CliState
from worker.errors import ApiError, AuthenticationFailed, ConfigError, SyncError
from worker.infra.services import DATABASE, REDIS, is_unavailable, mask_url, reason_of, service_of

USAGE_ERROR = 2  # what click answers a wrong option with; a wrong config or a missing service too


def explain(error: BaseException, state: CliState | None = None) -> str | None:
    """A user's mistake in a line or two (no secret in it), or None for a bug."""
    if isinstance(error, ConfigError):
        return error.reason
    if service := service_of(error):
        return _explain_service(service, error, state)
    if isinstance(error, AuthenticationFailed) or hasattr(error, "account_reason"):
        # a refused key; AccountUnavailable (the Picqer client's guard, worker.sync.health) says the same
        target = str(getattr(error, "target", None) or getattr(error, "service", None) or "the service")
        why = getattr(error, "account_reason", None) or _api_reason(error)
        key = "picqer.api_key, picqer.url" if target == "picqer" else f"the credentials of sources[{target}]"
        return f"{target}: {mask_url(why)} ({key})"
    if isinstance(error, ApiError | SyncError):
        return _api_reason(error)
    import httpx

    if isinstance(error, httpx.TransportError):
        try:
            url = str(error.request.url.copy_with(query=None))
        except RuntimeError:  # no request attached
            url = "a remote service"
        return f"cannot reach {mask_url(url)}: {mask_url(str(error)) or type(error).__name__}"
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror or error}: {error.filename}"
    return None


def _api_reason(error: BaseException) -> str:
    return mask_url(error.reason if isinstance(error, SyncError) else str(error))


def _explain_service(service: str, error: BaseException, state: CliState | None) -> str:
    settings = state.loaded_settings() if state is not None else None
    if service == DATABASE:
        where = f" {mask_url(settings.database_url)}" if settings is not None else ""
        verb = "cannot reach" if is_unavailable(error) else "cannot use"
        return f"{verb} the mirror database{where} (database_url): {reason_of(error)}"
    if service == REDIS:
        where = f" at {mask_url(settings.redis_url)}" if settings is not None else ""
        verb = "cannot reach" if is_unavailable(error) else "cannot use"
        return f"{verb} Redis{where} (redis_url): {reason_of(error)}"
    return reason_of(error)


class ErrorBoundary(TyperGroup):
    """The root command group: every command runs inside it, so every command is covered."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:
            state = ctx.obj if isinstance(ctx.obj, CliState) else None
            message = explain(error, state)
            if message is None:
                raise
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(code=USAGE_ERROR) from None


app = typer.Typer(
    cls=ErrorBoundary,
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
