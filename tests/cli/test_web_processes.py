"""``web --processes N``: N receiver processes on one port, one ``/metrics`` summed over them, and
no receiver left behind when ``web`` itself is killed.

Real PostgreSQL and Redis (processes share no fakeredis): skipped locally without them, failed under
CI=true.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import REDIS_URL, require_service
from tests.support.liveserver import free_port
from worker.cli.web_processes import CORES_PER_PROCESS, MAX_AUTO_PROCESSES, receiver_process_count
from worker.db.migrate import upgrade_database
from worker.db.session import make_engine

CLI = str(Path(sys.executable).parent / "picqer-sync")
SECRET = "web-processes-secret"
WEBHOOKS = 60
START_SECONDS = 40.0


def test_process_count_is_the_configured_one_or_one_per_two_cpus_up_to_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert receiver_process_count(3) == 3
    assert receiver_process_count(1) == 1
    for cpus, expected in ((1, 1), (2, 1), (4, 2), (8, 4), (64, MAX_AUTO_PROCESSES), (None, 1)):
        monkeypatch.setattr(os, "cpu_count", lambda cpus=cpus: cpus)
        assert receiver_process_count(0) == expected
    assert CORES_PER_PROCESS == 2


def _signed(order_id: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": order_id, "financial_status": "paid", "line_items": []}).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Webhook-Id": f"processes-{order_id}",
    }
    return body, headers


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.postgres
def test_two_receiver_processes_store_every_webhook_and_end_with_their_parent(
    tmp_path: Path, postgres_url: str
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    upgrade_database(postgres_url)
    config = tmp_path / "web.toml"
    config.write_text(
        f'database_url = "{postgres_url}"\nredis_url = "{REDIS_URL}"\nlog_format = "json"\n'
        'public_url = "https://sync.example.test"\n'
        '[picqer]\nurl = "http://127.0.0.1:9/api/v1/"\napi_key = "k"\nwebhook_secret = "s"\n'
        '[[sources]]\nname = "shop"\nplatform = "shopify"\nurl = "http://127.0.0.1:9/shop"\n'
        f'access_token = "t"\nwebhook_secret = "{SECRET}"\n'
    )
    port = free_port()
    log = (tmp_path / "web.log").open("wb")
    web = subprocess.Popen(
        [CLI, "--config", str(config), "web", "--port", str(port), "--processes", "2"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    children: list[int] = []
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert web.poll() is None, (tmp_path / "web.log").read_text()
            if _listening(port) and len([p for p in _children(web.pid) if _alive(p)]) >= 2:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        else:
            raise AssertionError("web --processes 2 did not start: " + (tmp_path / "web.log").read_text())

        def send(order_id: int) -> int:
            body, headers = _signed(order_id)
            with httpx.Client(timeout=10) as client:  # a connection each: the kernel spreads them
                return client.post(f"{base}/webhooks/sources/shop", content=body, headers=headers).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(send, range(1, WEBHOOKS + 1)))
        assert statuses == [202] * WEBHOOKS

        engine = make_engine(postgres_url)
        try:
            with engine.connect() as connection:
                stored = connection.execute(
                    sa.text("SELECT count(*) FROM webhook_inbox WHERE source = 'shop'")
                ).scalar_one()
        finally:
            engine.dispose()
        assert stored == WEBHOOKS

        # /metrics on whichever process answers counts the webhooks of both
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        accepted = re.search(
            r'^picqer_sync_webhooks_total\{[^}]*outcome="accepted"[^}]*target="shop"[^}]*\} (\S+)$'
            r'|^picqer_sync_webhooks_total\{[^}]*target="shop"[^}]*outcome="accepted"[^}]*\} (\S+)$',
            metrics,
            re.MULTILINE,
        )
        assert accepted is not None, metrics
        assert float(accepted.group(1) or accepted.group(2)) == WEBHOOKS

        children = [pid for pid in _children(web.pid) if _alive(pid)]
        assert len(children) >= 2
    finally:
        web.send_signal(signal.SIGKILL)  # a crash of the parent: its receivers must not outlive it
        web.wait(timeout=10)
        log.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (any(_alive(pid) for pid in children) or _listening(port)):
        time.sleep(0.2)
    left = [pid for pid in children if _alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "receiver processes outlived their parent"
    assert not _listening(port)
