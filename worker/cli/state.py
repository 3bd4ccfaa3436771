"""What the global options hand to every command: the config file, settings loaded on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from worker.config import Settings, load_settings, picqer_url_given
from worker.errors import ConfigError
from worker.logging import configure_logging

# the commands that talk to Picqer: without picqer.url they would talk to a placeholder
NEEDS_PICQER = frozenset(
    {
        "run",
        "web",
        "worker",
        "scheduler",
        "resync",
        "push",
        "reconcile",
        "hooks sync",
        "sources check",
        "failures retry",
    }
)


@dataclass
class CliState:
    config_file: Path | None = None
    # the command as typed after the global options ("hooks sync"), set by :func:`cli_state`
    command: str = ""
    _settings: Settings | None = field(default=None, repr=False)
    _migrated: bool = field(default=False, repr=False)

    def settings(self) -> Settings:
        """Load the settings once and configure logging.

        A missing or invalid configuration raises ``ConfigError``, which the error boundary of
        ``worker/cli/main.py`` prints in a line and exits 2 for.
        """
        if self._settings is None:
            settings = load_settings(self.config_file)
            if self.command in NEEDS_PICQER and not picqer_url_given(settings):
                raise ConfigError(
                    f"`{self.command}` talks to Picqer and picqer.url is not set: add it to the config "
                    '([picqer] url = "https://<account>.picqer.com/api/v1/") or set PICQER__URL'
                )
            self._settings = settings
            configure_logging(log_format=settings.log_format, level=settings.log_level)
        return self._settings

    def loaded_settings(self) -> Settings | None:
        """The settings if a command loaded them already (the error boundary names services by them)."""
        return self._settings

    def mirror_settings(self) -> Settings:
        """The settings, with the mirror's schema brought up to date first (idempotent).

        Every command that reads or writes the mirror calls this, so a fresh install works without a
        separate ``db upgrade``; an unreachable database reaches the error boundary, which says so.
        """
        settings = self.settings()
        if not self._migrated:
            from worker.db.migrate import upgrade_database

            upgrade_database(settings.database_url)
            self._migrated = True
        return settings


def cli_state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    state = root.obj
    if not isinstance(state, CliState):
        state = CliState()
        root.obj = state
    if not state.command:
        # "picqer-sync --config x hooks sync" -> "hooks sync"
        state.command = " ".join(ctx.command_path.split()[len(root.command_path.split()) :])
    return state
