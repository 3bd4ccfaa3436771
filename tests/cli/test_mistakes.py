"""A user's common mistakes: a line or two naming the cause and what is at fault, exit 2, no secret.

One-shot commands answer at once; the long-running ones (``run``, ``worker``, ``scheduler``) wait for
a service that is down, in JSON log lines, and start once it answers.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from sandbox.app import create_sandbox_app
from tests.conftest import REDIS_URL
from tests.support.liveserver import serve
from tests.support.tcpproxy import TcpProxy
from worker.cli.main import app

REPO = Path(__file__).parents[2]
# a port nothing listens on: connecting is refused at once
CLOSED = "127.0.0.1:1"
DOWN_DATABASE = f"postgresql+psycopg://sync:db-password-1@{CLOSED}/picqer"
DOWN_REDIS = f"redis://:redis-password-1@{CLOSED}/0"
PASSWORDS = ("db-password-1", "redis-password-1")


def write_config(
    path: Path, *, database_url: str, redis_url: str = "", picqer_url: str = "", key: str = "k"
) -> Path:
    picqer = (
        f'[picqer]\nurl = "{picqer_url}"\napi_key = "{key}"\nwebhook_secret = "s"\n' if picqer_url else ""
    )
    path.write_text(
        f'database_url = "{database_url}"\nredis_url = "{redis_url}"\nlog_format = "json"\n'
        f'public_url = "https://sync.example.test"\n{picqer}'
    )
    return path


def invoke(*arguments: str) -> Any:
    return CliRunner().invoke(app, list(arguments))


def assert_one_line_error(result: Any, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if not line.startswith("{")]  # log lines aside
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for text in expected:
        assert text in lines[0]
    assert "Traceback" not in result.output
    for password in PASSWORDS:
        assert password not in result.output


@pytest.fixture(autouse=True)
def _no_configuration_around(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("PICQER_SYNC_CONFIG", "DATABASE_URL", "REDIS_URL", "PICQER", "PICQER__URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


# -- one-shot commands ----------------------------------------------------------------------------


def test_a_toml_syntax_error_names_the_file_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text('database_url = "sqlite:///x.db"\n\n[picqer]\nurl = "https://x.picqer.com/api/v1/\n')

    assert_one_line_error(invoke("--config", str(config), "status"), str(config), "line 4, column 36")


def test_an_unknown_key_names_the_source_and_the_nearest_known_key(tmp_path: Path) -> None:
    config = tmp_path / "typo.toml"
    config.write_text(
        'database_url = "sqlite:///x.db"\n[[sources]]\nname = "my-shop"\nplatform = "shopify"\n'
        'url = "https://my-shop.example"\naccess_token = "t"\ntagz = ["vip"]\n'
    )
    assert_one_line_error(
        invoke("--config", str(config), "status"), "sources[my-shop].tagz: unknown key (did you mean 'tags'?)"
    )


def test_without_a_configuration_a_command_says_how_to_give_one_and_creates_nothing(tmp_path: Path) -> None:
    for command in (["run"], ["status"], ["db", "upgrade"], ["hooks", "sync"]):
        assert_one_line_error(invoke(*command), "no configuration", "--config FILE", "PICQER_SYNC_CONFIG")
    assert list(tmp_path.iterdir()) == []  # no picqer-sync.db in the current folder


def test_commands_that_need_no_configuration_work_without_one() -> None:
    for command in (["--help"], ["sandbox", "--help"], ["demo", "--help"], ["hooks", "--help"]):
        result = invoke(*command)
        assert result.exit_code == 0, (command, result.output)


def test_a_command_that_talks_to_picqer_needs_picqer_url(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", database_url=f"sqlite:///{tmp_path / 'm.db'}")
    assert_one_line_error(invoke("--config", str(config), "hooks", "sync"), "picqer.url is not set")
    assert invoke("--config", str(config), "status").exit_code == 0  # the mirror alone needs no Picqer


def test_db_upgrade_with_the_database_down_names_it_without_the_password(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", database_url=DOWN_DATABASE)
    assert_one_line_error(
        invoke("--config", str(config), "db", "upgrade"),
        f"cannot reach the mirror database postgresql+psycopg://sync:***@{CLOSED}/picqer (database_url)",
        "Connection refused",
    )


def test_a_one_shot_command_with_redis_down_names_it(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.toml",
        database_url=f"sqlite:///{tmp_path / 'm.db'}",
        redis_url=DOWN_REDIS,
        picqer_url="http://127.0.0.1:1/picqer/api/v1/",
    )
    assert_one_line_error(
        invoke("--config", str(config), "hooks", "sync"),
        f"cannot reach Redis at redis://:***@{CLOSED}/0 (redis_url)",
    )


def test_hooks_sync_with_a_key_picqer_refuses(tmp_path: Path) -> None:
    with serve(create_sandbox_app(rate_limit=None, api_key="the-right-key", seed=False)) as sandbox:
        config = write_config(
            tmp_path / "c.toml",
            database_url=f"sqlite:///{tmp_path / 'm.db'}",
            picqer_url=f"{sandbox}/picqer/api/v1/",
            key="a-wrong-key",
        )
        result = invoke("--config", str(config), "hooks", "sync")
        reconcile = invoke("--config", str(config), "reconcile")

    assert_one_line_error(result, "cannot sync the Picqer hooks", "401", "picqer.api_key")
    assert_one_line_error(reconcile, "picqer: the credentials were refused (401)", "picqer.api_key")
    assert "a-wrong-key" not in result.output + reconcile.output


def test_web_and_run_bind_the_same_default_host() -> None:
    command = typer.main.get_command(app)
    defaults = {
        name: next(param.default for param in command.commands[name].params if param.name == "host")  # type: ignore[attr-defined]
        for name in ("run", "web")
    }
    assert defaults == {"run": "127.0.0.1", "web": "127.0.0.1"}


# -- long-running processes -----------------------------------------------------------------------


class Process:
    """``picqer-sync`` in a subprocess; its stderr read line by line in the background."""

    def __init__(self, config: Path, *arguments: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "--config", str(config), *arguments],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for raw in self.popen.stderr:
            self._queue.put(raw.decode())
        self._queue.put(None)

    def wait_for(self, event: str, *, deadline_seconds: float = 60) -> dict[str, Any]:
        """The first JSON line with this event (a deadline, not a timing assertion)."""
        while True:
            try:
                line = self._queue.get(timeout=deadline_seconds)
            except queue.Empty:
                pytest.fail(f"no {event!r} line; got:\n{''.join(self.lines)}")
            if line is None:
                pytest.fail(f"ended before {event!r}; got:\n{''.join(self.lines)}")
            self.lines.append(line)
            if json.loads(line)["event"] == event:
                return dict(json.loads(line))

    def stop(self) -> int:
        self.popen.send_signal(signal.SIGTERM)
        code = self.popen.wait(timeout=60)
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return code

    def assert_clean_json(self) -> None:
        text = "".join(self.lines)
        assert "Traceback" not in text
        for password in PASSWORDS:
            assert password not in text
        for line in self.lines:
            assert line.strip(), "an empty line"
            json.loads(line)  # every line is one JSON object


@contextmanager
def running(config: Path, *arguments: str) -> Iterator[Process]:
    process = Process(config, *arguments)
    try:
        yield process
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait()


@pytest.mark.parametrize(
    ("command", "service", "database_url", "redis_url"),
    [
        (["run", "--port", "0"], "database", DOWN_DATABASE, ""),
        (["scheduler"], "redis", "sqlite:///{tmp}/m.db", DOWN_REDIS),
        (["worker"], "redis", "sqlite:///{tmp}/m.db", DOWN_REDIS),
    ],
)
def test_a_long_running_process_waits_for_a_service_that_is_down(
    tmp_path: Path, command: list[str], service: str, database_url: str, redis_url: str
) -> None:
    config = write_config(
        tmp_path / "c.toml",
        database_url=database_url.format(tmp=tmp_path),
        redis_url=redis_url,
        picqer_url="http://127.0.0.1:1/picqer/api/v1/",
    )
    with running(config, *command) as process:
        first = process.wait_for("service_unavailable")
        second = process.wait_for("service_unavailable")
        code = process.stop()

    assert (first["service"], first["retry_in_seconds"], second["retry_in_seconds"]) == (service, 1.0, 2.0)
    assert "***@127.0.0.1:1" in first["at"]
    assert "refused" in first["error"].lower()
    assert code == 0  # a SIGTERM while waiting ends the process quietly
    process.assert_clean_json()


@pytest.mark.redis
def test_the_worker_starts_once_redis_answers(tmp_path: Path, real_redis: Any) -> None:
    host, port = REDIS_URL.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    late = TcpProxy((host, int(port)), state="refuse")  # Redis down until it is opened
    database = REDIS_URL.rsplit("/", 1)[1]
    config = write_config(
        tmp_path / "c.toml",
        database_url=f"sqlite:///{tmp_path}/m.db",
        redis_url=f"redis://127.0.0.1:{late.port}/{database}",
        picqer_url="http://127.0.0.1:1/picqer/api/v1/",
    )
    try:
        with running(config, "worker", "--threads", "1") as process:
            process.wait_for("service_unavailable")
            late.forward()
            available = process.wait_for("service_available")
            process.wait_for("worker_started")
            code = process.stop()
    finally:
        late.close()

    assert available["service"] == "redis"
    assert code == 0
    process.assert_clean_json()
