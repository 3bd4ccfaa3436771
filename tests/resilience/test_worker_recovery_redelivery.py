"""A SIGKILLed worker's messages come back within seconds; a retry survives Redis being away.

dramatiq's Redis broker stamps a heartbeat per process on every command (with the process's own
clock, ``current_millis``, which the test sets) and, by chance on some commands, puts the unacknowledged
messages of a process whose heartbeat is older than ``heartbeat_timeout`` back on the queue. Here a
consumer fetches a message and stops (as a killed worker does); another, on the production values
of :func:`worker.queue.broker.make_broker`, gets the message once the first one's heartbeat is
``HEARTBEAT_TIMEOUT_MS`` old, and not before. On fakeredis, and on a real Redis under ``CI=true``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
from redis import exceptions as redis_errors

from tests.queue.fakes import make_settings
from worker.queue.broker import (
    HEARTBEAT_TIMEOUT_MS,
    MAINTENANCE_CHANCE,
    QUEUE_NAME,
    WORKER_TIMEOUT_MS,
    make_broker,
)
from worker.queue.middleware import DurableRetries, send_until_taken


class Millis:
    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def millis(monkeypatch: pytest.MonkeyPatch) -> Millis:
    clock = Millis()
    # the broker's clock: its heartbeats, and the age at which a process counts as dead
    monkeypatch.setattr("dramatiq.brokers.redis.current_millis", clock)
    return clock


@pytest.fixture
def two_processes(redis_client: Any) -> Iterator[tuple[RedisBroker, RedisBroker]]:
    """Two worker processes' brokers on one Redis namespace (each has its own broker id)."""
    settings = make_settings()
    killed = make_broker(settings, redis_client=redis_client)
    survivor = make_broker(settings, redis_client=redis_client)
    assert isinstance(killed, RedisBroker)
    assert isinstance(survivor, RedisBroker)
    for broker in (killed, survivor):
        broker.declare_queue(QUEUE_NAME)
    survivor.flush(QUEUE_NAME)
    yield killed, survivor
    survivor.flush(QUEUE_NAME)
    for broker in (killed, survivor):
        broker.close()


def test_the_broker_carries_the_recovery_values(redis_client: Any) -> None:
    broker = make_broker(make_settings(), redis_client=redis_client)
    assert isinstance(broker, RedisBroker)
    assert broker.heartbeat_timeout == HEARTBEAT_TIMEOUT_MS
    assert broker.maintenance_chance == MAINTENANCE_CHANCE
    assert any(isinstance(middleware, DurableRetries) for middleware in broker.middleware)


def test_the_values_bring_a_dead_workers_messages_back_within_20_s() -> None:
    """The timeout is many heartbeats long (a live worker is not taken for dead), and one live
    idle process, polling its queue and delay queue every WORKER_TIMEOUT_MS, runs maintenance
    often enough that 20 s after a kill it has almost surely run once past the timeout."""
    assert HEARTBEAT_TIMEOUT_MS >= 50 * WORKER_TIMEOUT_MS
    assert HEARTBEAT_TIMEOUT_MS <= 15_000
    chance = MAINTENANCE_CHANCE / MAINTENANCE_SCALE
    # commands on one queue in the time left after the timeout, of one idle process (the worst case)
    commands = (20_000 - HEARTBEAT_TIMEOUT_MS) / WORKER_TIMEOUT_MS
    assert math.pow(1 - chance, commands) < 0.001


def fetch(broker: RedisBroker) -> dramatiq.MessageProxy | None:
    consumer = broker.consume(QUEUE_NAME, prefetch=1, timeout=10)
    message = next(consumer)
    return message


def test_a_killed_consumers_message_goes_to_another_after_the_timeout(
    two_processes: tuple[RedisBroker, RedisBroker], millis: Millis
) -> None:
    killed, survivor = two_processes
    killed.enqueue(dramatiq.Message(queue_name=QUEUE_NAME, actor_name="push", args=(), kwargs={}, options={}))
    taken = fetch(killed)
    assert taken is not None  # fetched, never acknowledged: the process is SIGKILLed now

    # just before the timeout, the survivor polls many times (maintenance certainly runs): nothing
    millis.now += HEARTBEAT_TIMEOUT_MS - 1_000
    survivor.maintenance_chance = MAINTENANCE_SCALE
    for _ in range(5):
        assert fetch(survivor) is None

    # past it, on the production chance: back within a few polls (1 in 5 runs maintenance)
    survivor.maintenance_chance = MAINTENANCE_CHANCE
    millis.now += 1_001
    redelivered = None
    for _ in range(200):  # (4/5)^200: never in practice; each empty poll sleeps about 10 ms
        redelivered = fetch(survivor)
        if redelivered is not None:
            break
    assert redelivered is not None
    assert redelivered.message_id == taken.message_id


def test_a_live_workers_messages_stay_with_it(
    two_processes: tuple[RedisBroker, RedisBroker], millis: Millis
) -> None:
    busy, other = two_processes
    busy.enqueue(dramatiq.Message(queue_name=QUEUE_NAME, actor_name="push", args=(), kwargs={}, options={}))
    assert fetch(busy) is not None
    other.maintenance_chance = MAINTENANCE_SCALE
    for _ in range(10):  # a minute of a busy worker that keeps polling (its heartbeat)
        millis.now += HEARTBEAT_TIMEOUT_MS // 2
        assert fetch(busy) is None  # its queue is empty; the poll stamps its heartbeat
        assert fetch(other) is None


# -- a retry enqueued while Redis is away ------------------------------------------------------


def test_a_retry_waits_for_redis_instead_of_being_lost() -> None:
    sent: list[str] = []
    pauses: list[float] = []
    failures = [redis_errors.ConnectionError("refused"), redis_errors.TimeoutError("timeout")]

    def send() -> None:
        if failures:
            raise failures.pop(0)
        sent.append("retry")

    send_until_taken(send, what="retry", sleep=pauses.append)
    assert sent == ["retry"]
    assert len(pauses) == 2


def test_a_retry_of_a_failed_message_survives_redis_going_away() -> None:
    """The actor failed while Redis was away (fakeredis disconnected); the retry is enqueued once
    it is back, so the message is tried again instead of being acknowledged and lost."""
    import fakeredis

    server = fakeredis.FakeServer()
    client = fakeredis.FakeRedis(server=server)
    broker = make_broker(make_settings(), redis_client=client)
    retries = next(middleware for middleware in broker.middleware if isinstance(middleware, DurableRetries))
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        server.connected = True  # Redis is back

    retries.sleep = pause

    @dramatiq.actor(broker=broker, queue_name=QUEUE_NAME, max_retries=3)
    def push() -> None: ...

    message = push.message()
    proxy = dramatiq.MessageProxy(message)
    server.connected = False  # Redis is away when the actor's failure is retried
    broker.emit_after("process_message", proxy, exception=redis_errors.ConnectionError("refused"))
    assert pauses  # it waited for Redis
    assert not proxy.failed
    assert client.hlen(f"{broker.namespace}:{QUEUE_NAME}.DQ.msgs") == 1  # the retry, delayed
    broker.close()
