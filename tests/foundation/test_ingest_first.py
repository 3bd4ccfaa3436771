"""Ingest first (``run``): worker threads wait while the receiver stores a burst, never for long,
and not at all for a trickle (worker/infra/ingest.py, worker/queue/middleware.py ``IngestFirst``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker

from worker.infra.ingest import IngestPressure
from worker.queue.middleware import IngestFirst
from worker.receiver.gate import ThreadGate


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def pressure(clock: FakeClock, **options: Any) -> IngestPressure:
    return IngestPressure(clock=clock, sleep=clock.sleep, **options)


def test_without_a_burst_nothing_waits() -> None:
    clock = FakeClock()
    assert pressure(clock).hold() == 0.0
    assert clock.sleeps == []


def test_a_trickle_below_the_threshold_does_not_wait() -> None:
    clock = FakeClock()
    watched = pressure(clock, busy_at=8)
    for in_flight in range(1, 8):
        watched.note(in_flight)
    assert not watched.busy()
    assert watched.hold() == 0.0


def test_a_burst_lingers_over_the_dips_between_commits_then_ends() -> None:
    clock = FakeClock()
    watched = pressure(clock, busy_at=8, linger=0.25)
    watched.note(20)
    clock.now += 0.1
    watched.note(0)  # a group was just answered: the count dips, the burst goes on
    assert watched.busy()
    clock.now += 0.2
    assert not watched.busy()  # 0.3 s since the last admission that saw a burst


def test_a_thread_waits_for_the_burst_to_pass() -> None:
    clock = FakeClock()
    watched = pressure(clock, busy_at=8, linger=0.25, poll=0.01, max_hold=5.0)
    watched.note(50)
    waited = watched.hold()
    assert 0.25 <= waited < 0.27


def test_a_burst_that_never_ends_holds_a_thread_at_most_max_hold() -> None:
    clock = FakeClock()
    watched = pressure(clock, busy_at=8, linger=0.25, poll=0.05, max_hold=2.0)

    def still_busy(seconds: float) -> None:
        clock.now += seconds
        watched.note(500)  # webhooks keep coming

    watched._sleep = still_busy
    watched.note(500)
    waited = watched.hold()
    assert 2.0 <= waited < 2.06


def test_the_gate_reports_each_admission() -> None:
    seen: list[int] = []
    gate = ThreadGate(10, on_enter=seen.append)

    async def admit_three() -> None:
        for _ in range(3):
            await gate.enter()
        gate.leave()
        await gate.enter()

    asyncio.run(admit_three())
    assert seen == [1, 2, 3, 3]


def test_the_middleware_holds_each_message_before_it_runs() -> None:
    clock = FakeClock()
    watched = pressure(clock, busy_at=8, linger=10.0, poll=0.5, max_hold=1.0)
    watched.note(100)
    broker = StubBroker()
    broker.add_middleware(IngestFirst(watched))
    ran: list[float] = []

    @dramatiq.actor(broker=broker)
    def job() -> None:
        ran.append(clock.now)

    job.send()
    worker = dramatiq.Worker(broker, worker_timeout=10)
    worker.start()
    try:
        broker.join(job.queue_name, timeout=10_000)
        worker.join()
    finally:
        worker.stop()
    assert ran == [1.0]  # it ran after the hold, not before


def test_run_wires_its_receivers_gate_to_its_worker_threads(tmp_path: Path) -> None:
    from worker.app import build_app
    from worker.config import Settings
    from worker.db.migrate import upgrade_database

    url = f"sqlite:///{tmp_path / 'mirror.db'}"
    upgrade_database(url)
    with build_app(Settings(database_url=url, redis_url="")) as app:
        receiver = app.receiver()
        gate = receiver.webhook_endpoints.gate
        assert gate.on_enter == app.ingest.note
        for _ in range(2):  # started twice: the middleware is added once
            app.start_worker(1, worker_timeout_ms=10, ingest_first=True).stop()
        assert sum(isinstance(m, IngestFirst) for m in app.broker.middleware) == 1
