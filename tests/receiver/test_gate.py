"""A flood on a slow database gets fast 503s with Retry-After beyond a bound, not an unbounded queue
of requests and threads: the gate counts every thread it started until it ends, abandoned ones too."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from adapters.picqer.webhooks import sign as picqer_sign
from tests.queue.fakes import WEBHOOK_SECRET, make_settings
from worker.db.migrate import upgrade_database
from worker.db.session import make_engine
from worker.receiver.app import create_receiver_app, receiver_timeouts
from worker.receiver.gate import Saturated, ThreadGate

EVENT: dict[str, Any] = {
    "idhook": 30088,
    "name": "picqer-sync orders.status_changed",
    "event": "orders.status_changed",
    "event_triggered_at": "2026-01-13 09:46:30",
    "data": {"idorder": 11, "reference": "#1001", "status": "processing"},
}


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_beyond_the_bound_the_gate_refuses_at_once() -> None:
    gate = ThreadGate(2, wait_seconds=0.05, max_waiting=0)
    release = threading.Event()
    results: list[object] = []

    async def call() -> None:
        try:
            results.append(await gate.run(30, release.wait, 30))
        except Saturated:
            results.append("saturated")

    async def flood() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(call)
            while len(results) < 3:  # the three beyond the bound are refused while two still wait
                await anyio.sleep(0.005)
            assert gate.in_flight == 2
            release.set()

    anyio.run(flood)
    assert sorted(map(str, results)) == ["True", "True", "saturated", "saturated", "saturated"]
    assert gate.in_flight == 0


def test_an_abandoned_thread_keeps_its_slot_until_it_ends() -> None:
    gate = ThreadGate(1, wait_seconds=0.01, max_waiting=0)
    release = threading.Event()

    async def given_up() -> None:
        with pytest.raises(TimeoutError):
            await gate.run(0.05, release.wait, 30)

    anyio.run(given_up)
    assert gate.in_flight == 1  # answered (503) but its thread is still on the database

    async def next_one() -> None:
        with pytest.raises(Saturated):
            await gate.run(5, lambda: None)

    anyio.run(next_one)
    release.set()
    _wait_for(lambda: gate.in_flight == 0)
    assert anyio.run(gate.run, 5, lambda: "ok") == "ok"


def test_a_burst_on_a_healthy_database_waits_for_a_slot() -> None:
    gate = ThreadGate(1, wait_seconds=5, max_waiting=2)
    done: list[str] = []

    def work(name: str) -> str:
        time.sleep(0.02)
        return name

    async def call(name: str) -> None:
        done.append(await gate.run(10, work, name))

    async def burst() -> None:
        async with anyio.create_task_group() as group:
            for name in ("a", "b", "c"):
                group.start_soon(call, name)

    anyio.run(burst)
    assert sorted(done) == ["a", "b", "c"]  # one at a time, none refused
    assert gate.in_flight == 0


def test_a_webhook_flood_on_a_locked_database_gets_fast_503s_with_retry_after(sqlite_url: str) -> None:
    upgrade_database(sqlite_url)
    engine = make_engine(sqlite_url, timeouts=receiver_timeouts(make_settings()))
    gate = ThreadGate(1, wait_seconds=0.05, max_waiting=0)
    app = create_receiver_app(make_settings(), engine=engine, enqueue=lambda *_: None, gate=gate)
    client = TestClient(app, raise_server_exceptions=False)
    blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    first: list[Any] = []

    def post(idhook: int) -> Any:
        body = json.dumps({**EVENT, "idhook": idhook}).encode()
        headers = {"X-Picqer-Signature": picqer_sign(body, WEBHOOK_SECRET)}
        return client.post("/webhooks/picqer", content=body, headers=headers)

    try:
        blocker.execute("BEGIN EXCLUSIVE")  # every write waits for the busy timeout
        slow = threading.Thread(target=lambda: first.append(post(1)))
        slow.start()
        _wait_for(lambda: gate.in_flight == 1)
        busy = post(2)
        assert busy.status_code == 503
        assert busy.json() == {"error": "the receiver is busy; retry later"}
        assert busy.headers["Retry-After"].isdigit()
        slow.join(timeout=10)
        assert first[0].status_code == 503  # the slow one ran into the database's own bound
    finally:
        blocker.close()
        engine.dispose()
