"""The image's command, run as the image runs it: listens on every interface and answers /healthz.

There is no Docker daemon in the test run, so the test plays the image: ENTRYPOINT + CMD from
deploy/Dockerfile, with its ENV, in a temporary folder standing in for the image's /data and
/config (the operator mounts a config there). Only the port is changed, to one that is free.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.dockerfile import parse_dockerfile

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="127.0.0.2 is a loopback address only on Linux"
)

STARTUP_DEADLINE = 60.0  # seconds; a bound on waiting, not a measurement

CONFIG = """
[picqer]
url = "http://127.0.0.1:9/api/v1/"   # nothing listens: the receiver must come up regardless
api_key = "test-key"
webhook_secret = "test-secret"
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _in(root: Path, value: str) -> str:
    """The image's absolute paths (/data, /config) moved under ``root``."""
    for folder in ("/data", "/config"):
        value = value.replace(f"{folder}/", f"{root}{folder}/")
    return value


def _with_port(argv: list[str], port: int) -> list[str]:
    if "--port" in argv:
        at = argv.index("--port") + 1
        return [*argv[:at], str(port), *argv[at + 1 :]]
    return [*argv, "--port", str(port)]


@pytest.fixture
def image_process(tmp_path: Path) -> Iterator[tuple[int, dict[str, str], Path]]:
    image = parse_dockerfile()
    (tmp_path / "data").mkdir()
    (tmp_path / "config").mkdir()
    port = _free_port()
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path / "data"),
        **{name: _in(tmp_path, value) for name, value in image.env.items()},
    }
    Path(env["PICQER_SYNC_CONFIG"]).write_text(CONFIG)
    argv = [*image.entrypoint, *_with_port(image.cmd, port)]
    output = (tmp_path / "output.log").open("wb")
    process = subprocess.Popen(argv, cwd=tmp_path / "data", env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield port, env, tmp_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()


def _healthz(host: str, port: int, log: Path) -> httpx.Response:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while True:
        try:
            return httpx.get(f"http://{host}:{port}/healthz", timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                pytest.fail(f"nothing answered on {host}:{port}:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)


def test_the_image_command_answers_healthz_on_every_interface(
    image_process: tuple[int, dict[str, str], Path],
) -> None:
    port, env, root = image_process
    # 127.0.0.2 is loopback too, but a socket bound to 127.0.0.1 does not answer it: only one
    # bound to every interface (0.0.0.0) does, as a published container port needs
    answer = _healthz("127.0.0.2", port, root / "output.log")
    assert answer.status_code == 200
    # the SQLite default of the image lands in its writable data folder
    assert (root / "data" / "picqer-sync.db").exists()
    # and the image's HEALTHCHECK command says healthy
    image = parse_dockerfile()
    check_env = {
        **env,
        "PICQER_SYNC_HEALTH_URL": env["PICQER_SYNC_HEALTH_URL"].replace(":8000/", f":{port}/"),
    }
    check = subprocess.run(image.healthcheck, env=check_env, capture_output=True, timeout=30, check=False)
    assert check.returncode == 0, check.stderr


def test_the_image_healthcheck_fails_when_nothing_answers(tmp_path: Path) -> None:
    image = parse_dockerfile()
    env = {**os.environ, "PICQER_SYNC_HEALTH_URL": f"http://127.0.0.1:{_free_port()}/healthz"}
    check = subprocess.run(image.healthcheck, env=env, capture_output=True, timeout=30, check=False)
    assert check.returncode != 0
