"""What the global options hand to every command: the config file, settings loaded on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from worker.config import Settings, load_settings
from worker.errors import ConfigError
from worker.logging import configure_logging


@dataclass
class CliState:
    config_file: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _migrated: bool = field(default=False, repr=False)

    def settings(self) -> Settings:
        """Load the settings once and configure logging; exit 2 with the reason when invalid."""
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_file)
            except ConfigError as error:
                typer.echo(f"error: {error}", err=True)
                raise typer.Exit(code=2) from None
            configure_logging(log_format=self._settings.log_format, level=self._settings.log_level)
        return self._settings

    def mirror_settings(self) -> Settings:
        """The settings, with the mirror's schema brought up to date first (idempotent).

        Every command that reads or writes the mirror calls this, so a fresh install works without a
        separate ``db upgrade``; an unreachable database exits 2 with the reason, not a traceback.
        """
        settings = self.settings()
        if not self._migrated:
            import sqlalchemy.exc

            from worker.db.migrate import upgrade_database

            try:
                upgrade_database(settings.database_url)
            except sqlalchemy.exc.SQLAlchemyError as error:
                where = sqlalchemy.engine.make_url(settings.database_url).render_as_string(hide_password=True)
                reason = str(getattr(error, "orig", None) or error).splitlines()[0]
                typer.echo(f"error: cannot use the mirror database {where}: {reason}", err=True)
                raise typer.Exit(code=2) from None
            self._migrated = True
        return settings


def cli_state(ctx: typer.Context) -> CliState:
    state = ctx.find_root().obj
    if not isinstance(state, CliState):
        state = CliState()
        ctx.find_root().obj = state
    return state
