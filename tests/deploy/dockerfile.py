"""What the tests need to know of deploy/Dockerfile and of the CLI the deploy files call."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from worker.cli.main import app

try:  # typer vendors click since 0.2x; the deploy files must parse with the parser the CLI uses
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - an older typer on the real click
    from click.exceptions import UsageError  # type: ignore[assignment]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@dataclass
class Dockerfile:
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    healthcheck: list[str] = field(default_factory=list)
    user: str | None = None


def instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, rest = line.partition(" ")
        found.append((keyword.upper(), rest.strip()))
    return found


def _exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list), f"exec form expected, got {arguments!r}"
    return [str(item) for item in value]


def parse_dockerfile(path: Path = DEPLOY / "Dockerfile") -> Dockerfile:
    parsed = Dockerfile()
    for keyword, arguments in instructions(path.read_text()):
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                parsed.env[name] = value
        elif keyword == "ENTRYPOINT":
            parsed.entrypoint = _exec_form(arguments)
        elif keyword == "CMD":
            parsed.cmd = _exec_form(arguments)
        elif keyword == "USER":
            parsed.user = arguments
        elif keyword == "HEALTHCHECK":
            # options (--interval=30s ...) come before CMD
            parsed.healthcheck = _exec_form(arguments[arguments.index("CMD") + 3 :].strip())
    return parsed


def parse_cli(argv: Sequence[str]) -> Any:
    """Parse ``picqer-sync ARGV`` as the CLI would, down to the leaf command, without running it.

    Raises ``UsageError`` (``NoSuchOption``, a missing value, an unknown command) when the
    deploy files name something the CLI does not have.
    """
    command: Any = typer.main.get_command(app)
    context = command.make_context("picqer-sync", list(argv))
    while hasattr(command, "resolve_command"):  # a group: find the subcommand, parse its options
        rest = [*context._protected_args, *context.args]
        if not rest:
            raise UsageError(f"{context.command_path} needs a command")
        name, found, rest = command.resolve_command(context, rest)
        assert name is not None
        assert found is not None
        command = found
        context = command.make_context(name, rest, parent=context)
    return context
