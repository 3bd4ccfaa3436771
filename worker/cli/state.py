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


def cli_state(ctx: typer.Context) -> CliState:
    state = ctx.find_root().obj
    if not isinstance(state, CliState):
        state = CliState()
        ctx.find_root().obj = state
    return state
