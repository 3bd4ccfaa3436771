"""Ingest: signed Shopify webhooks accepted per second, and their p99, at 50 connections, measured
from outside against the real ``picqer-sync run`` (SQLite) and ``picqer-sync web`` (PostgreSQL +
Redis), each repetition beside the bare-HMAC baseline (tests/bench/bare_hmac_app.py) in the same
run. The load generator (tests/bench/loadgen.py) runs in its own process.

Honesty: after each measurement the server is killed (SIGKILL, a crash) and every webhook it
answered 202 "accepted" must be in the inbox: a 202 means stored.

``.venv/bin/pytest -m bench -q -s tests/bench/test_ingest_bench.py`` (or ``make bench``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.bench.results import REPETITIONS, Figure, record_figure
from tests.conftest import REDIS_URL
from tests.support.liveserver import free_port
from worker.db.migrate import upgrade_database
from worker.db.session import make_engine

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CLI = str(Path(PYTHON).parent / "picqer-sync")
SHOP_SECRET = "bench-shop-secret"
CONNECTIONS = 50
WARMUP_SECONDS = 1.0
SECONDS = 6.0  # counted, after the warm-up
START_TIMEOUT = 30.0
GOAL_PER_SECOND = 2000.0
GOAL_P99_MS = 50.0

CONFIG = """
database_url = "{database_url}"
redis_url = "{redis_url}"
log_format = "json"
public_url = "https://sync.example.test"

[picqer]
url = "http://127.0.0.1:9/picqer/api/v1/"
api_key = "bench-key"
webhook_secret = "bench-picqer-secret"

[[sources]]
name = "shop-nl"
platform = "shopify"
url = "http://127.0.0.1:9/shopify/bench"
access_token = "token"
webhook_secret = "{secret}"
"""


@dataclass(frozen=True)
class Target:
    name: str
    command: list[str]
    database_url: str | None  # None: the baseline stores nothing


@dataclass(frozen=True)
class Run:
    per_second: float
    p99_ms: float
    accepted: int
    stored: int
    answers: dict[str, Any]


def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server ended with {process.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1"):
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start listening")


def _stored(database_url: str, prefix: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    sa.text(
                        "SELECT count(*) FROM webhook_inbox WHERE source = 'shop-nl' AND event_key LIKE :p"
                    ),
                    {"p": f"webhook-id:{prefix}-%"},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def measure(target: Target, tmp_path: Path) -> Run:
    port = free_port()
    prefix = f"{target.name}-{uuid.uuid4().hex[:8]}"
    log = (tmp_path / f"{prefix}.log").open("wb")
    server = subprocess.Popen(
        [*target.command, "--port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    accepted_file = tmp_path / f"{prefix}.accepted"
    try:
        _wait_until_listening(port, server)
        loadgen = subprocess.run(
            [
                PYTHON,
                str(ROOT / "tests" / "bench" / "loadgen.py"),
                f"--port={port}",
                f"--secret={SHOP_SECRET}",
                f"--connections={CONNECTIONS}",
                f"--seconds={SECONDS}",
                f"--warmup={WARMUP_SECONDS}",
                f"--prefix={prefix}",
                f"--accepted-file={accepted_file}",
            ],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        )
    finally:
        server.send_signal(signal.SIGKILL)  # a crash: what was answered 202 must be stored anyway
        server.wait(timeout=10)
        log.close()
    answers = json.loads(loadgen.stdout)
    accepted = len(accepted_file.read_text().split())
    stored = _stored(target.database_url, prefix) if target.database_url else accepted
    return Run(answers["accepted_per_s"], answers["p99_ms"], accepted, stored, answers)


@pytest.fixture
def targets(tmp_path: Path, postgres_url: str, real_redis: Any) -> dict[str, Target]:
    sqlite_url = f"sqlite:///{tmp_path / 'mirror.db'}"
    run_config = tmp_path / "run.toml"
    run_config.write_text(CONFIG.format(database_url=sqlite_url, redis_url="", secret=SHOP_SECRET))
    upgrade_database(postgres_url)
    web_config = tmp_path / "web.toml"
    web_config.write_text(CONFIG.format(database_url=postgres_url, redis_url=REDIS_URL, secret=SHOP_SECRET))
    return {
        "baseline": Target(
            "baseline",
            [PYTHON, str(ROOT / "tests" / "bench" / "bare_hmac_app.py"), f"--secret={SHOP_SECRET}"],
            None,
        ),
        "run": Target("run", [CLI, "--config", str(run_config), "run"], sqlite_url),
        "web": Target("web", [CLI, "--config", str(web_config), "web"], postgres_url),
    }


def test_ingest_accepted_per_second_beside_the_bare_hmac_app(
    targets: dict[str, Target], tmp_path: Path
) -> None:
    runs: dict[str, list[Run]] = {name: [] for name in targets}
    for _ in range(REPETITIONS):
        for name, target in targets.items():  # each repetition: the baseline, then each mode beside it
            runs[name].append(measure(target, tmp_path))
    baseline = runs["baseline"]
    for name, label in (("run", "run, SQLite"), ("web", "web, PostgreSQL + Redis")):
        details = {
            "connections": CONNECTIONS,
            "seconds": SECONDS,
            "runs": [vars(run) for run in runs[name]],
            "baseline_runs": [vars(run) for run in baseline],
            "cpu_count": os.cpu_count(),
        }
        base_rate = Figure("baseline", "webhooks/s", [run.per_second for run in baseline]).median
        base_p99 = Figure("baseline", "ms", [run.p99_ms for run in baseline]).median
        record_figure(
            Figure(
                name=f"ingest ({label}): accepted signed webhooks/s, 50 connections",
                unit="webhooks/s",
                samples=[run.per_second for run in runs[name]],
                baseline=base_rate,
                baseline_name="bare-HMAC uvicorn app, same run",
                bound=GOAL_PER_SECOND,
                bound_name="goal",
            ),
            details=details,
        )
        record_figure(
            Figure(
                name=f"ingest ({label}): p99 ms, 50 connections",
                unit="ms",
                samples=[run.p99_ms for run in runs[name]],
                higher_is_better=False,
                baseline=base_p99,
                baseline_name="bare-HMAC uvicorn app, same run",
                bound=GOAL_P99_MS,
                bound_name="goal",
            )
        )
        for run in runs[name]:
            print(f"ingest {name}: {run.per_second}/s p99 {run.p99_ms} ms; {run.answers['statuses']}")
    for run in baseline:
        print(f"ingest baseline: {run.per_second}/s p99 {run.p99_ms} ms; {run.answers['statuses']}")
    # honesty, not speed: every webhook answered 202 "accepted" survived the server's SIGKILL
    for name in ("run", "web"):
        for run in runs[name]:
            assert run.accepted > 0, run.answers
            assert run.stored == run.accepted, (name, run.stored, run.accepted)
