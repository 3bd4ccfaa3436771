"""The scheduler fires each job once per interval (once across schedulers with Redis); a dead
letter records the order as failed in the mirror."""

from __future__ import annotations

import fakeredis
from sqlalchemy.engine import Engine

from tests.queue.fakes import RecordingHandlers, make_settings
from worker.app import build_app
from worker.db import orders
from worker.db.session import session_scope
from worker.errors import TransientError
from worker.queue.actors import declare_actors
from worker.queue.broker import make_broker, start_worker
from worker.scheduler import Job, LocalJobLock, RedisJobLock, Scheduler, SchedulerTargets, build_jobs


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_jobs_cover_every_enabled_source_and_the_safety_nets() -> None:
    targets = SchedulerTargets(*(lambda *_: None for _ in range(5)))
    names = [job.name for job in build_jobs(make_settings(), targets)]
    assert names == [
        "poll:shop-nl",
        "poll:woo",
        "poll:mage",
        "reconcile",
        "fulfilment-sweep",
        "inbox-sweep",
        "hooks",
    ]


def test_a_job_fires_once_per_interval_and_survives_its_failure() -> None:
    clock = Clock()
    fired: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    scheduler = Scheduler(
        [Job("a", 10, lambda: fired.append("a")), Job("b", 30, broken)], lock=LocalJobLock(), clock=clock
    )
    assert scheduler.tick() == ["a"]  # b failed, logged, and waits its turn
    clock.now += 5
    assert scheduler.tick() == []
    assert scheduler.seconds_until_next() == 5
    clock.now += 5
    assert scheduler.tick() == ["a"]
    assert fired == ["a", "a"]


def test_two_schedulers_on_one_redis_do_not_double_fire() -> None:
    client = fakeredis.FakeRedis()
    fired: list[str] = []
    first = Scheduler([Job("poll:x", 60, lambda: fired.append("first"))], lock=RedisJobLock(client))
    second = Scheduler([Job("poll:x", 60, lambda: fired.append("second"))], lock=RedisJobLock(client))
    first.tick()
    second.tick()
    assert fired == ["first"]


def test_a_dead_lettered_push_is_recorded_as_failed_with_its_reason(engine: Engine) -> None:
    settings = make_settings()
    recorder = build_app(settings, engine=engine)

    class Handlers(RecordingHandlers):
        def record_dead_push(self, source: str, shop_order_id: str, reason: str) -> None:
            recorder.handlers.record_dead_push(source, shop_order_id, reason)
            super().record_dead_push(source, shop_order_id, reason)

    handlers = Handlers()

    def down(source: str, shop_order_id: str) -> None:
        raise TransientError("gateway timeout", service="Shopify", status=504)

    handlers.behaviour["push_shop_order"] = down
    broker = make_broker(settings)
    actors = declare_actors(broker, handlers)
    worker = start_worker(broker, threads=1, worker_timeout_ms=50)
    try:
        actors.push_shop_order.send_with_options(
            args=("shop-nl", "5001"), max_retries=1, min_backoff=5, max_backoff=10
        )
        assert handlers.done.wait(20)
        broker.join("picqer-sync", timeout=20_000)
    finally:
        worker.stop()
        recorder.close()
    with session_scope(engine) as session:
        order = orders.get_order(session, source="shop-nl", shop_order_id="5001")
        assert order is not None
        assert order.sync_state == "failed"
        assert order.last_error == "Shopify answered 504: gateway timeout"
