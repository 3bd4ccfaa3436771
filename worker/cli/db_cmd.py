"""``picqer-sync db upgrade``: bring the mirror's schema up to date (idempotent)."""

from __future__ import annotations

import typer

from worker.cli.state import cli_state

db_app = typer.Typer(help="The mirror database.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Run the database migrations up to the newest one."""
    from worker.db.migrate import current_revision, upgrade_database

    settings = cli_state(ctx).settings()
    upgrade_database(settings.database_url)
    typer.echo(f"database at revision {current_revision(settings.database_url)}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
