"""Ingest first (``run``): worker threads wait while the receiver stores a burst, never for long,
and not at all for a trickle (worker/infra/ingest.py, worker/queue/middleware.py ``IngestFirst``)."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker

from worker.infra.ingest import IngestPressure
from worker.queue.middleware import IngestFirst


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def pressure(clock: FakeClock, in_flight: list[int], **options: Any) -> IngestPressure:
    watched = IngestPressure(clock=clock, sleep=clock.sleep, **options)
    watched.watch(lambda: in_flight[0])
    return watched


def test_without_a_receiver_nothing_waits() -> None:
    clock = FakeClock()
    assert IngestPressure(clock=clock, sleep=clock.sleep).hold() == 0.0
    assert clock.sleeps == []


def test_a_trickle_below_the_threshold_does_not_wait() -> None:
    clock = FakeClock()
    in_flight = [7]
    assert pressure(clock, in_flight, busy_at=8).hold() == 0.0
    assert clock.sleeps == []


def test_a_burst_holds_a_thread_until_it_passes() -> None:
    clock = FakeClock()
    in_flight = [50]
    watched = pressure(clock, in_flight, busy_at=8, poll=0.01, max_hold=5.0)

    def drain(seconds: float) -> None:
        clock.now += seconds
        if clock.now >= 0.1:
            in_flight[0] = 0  # the burst is stored after 0.1 s

    watched._sleep = drain
    waited = watched.hold()
    assert 0.1 <= waited < 0.12


def test_a_burst_that_never_ends_holds_at_most_max_hold() -> None:
    clock = FakeClock()
    watched = pressure(clock, [500], busy_at=8, poll=0.05, max_hold=2.0)
    waited = watched.hold()
    assert 2.0 <= waited < 2.06


def test_the_middleware_holds_each_message_before_it_runs() -> None:
    clock = FakeClock()
    in_flight = [100]
    watched = pressure(clock, in_flight, busy_at=8, poll=0.5, max_hold=1.0)
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


def test_run_wires_its_receivers_gate_to_its_worker_threads(tmp_path: Any) -> None:
    from worker.app import build_app
    from worker.config import Settings
    from worker.db.migrate import upgrade_database

    url = f"sqlite:///{tmp_path / 'mirror.db'}"
    upgrade_database(url)
    with build_app(Settings(database_url=url, redis_url="")) as app:
        app.receiver()
        assert not app.ingest.busy()  # the gate is watched, and nothing is in flight
        assert app.ingest._source is not None and app.ingest._source() == 0
        for _ in range(2):  # started twice: the middleware is added once
            app.start_worker(1, worker_timeout_ms=10, ingest_first=True).stop()
        assert sum(isinstance(m, IngestFirst) for m in app.broker.middleware) == 1
