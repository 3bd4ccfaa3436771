"""enqueue_all: a group of messages in one pipelined round trip, taken by dramatiq's own consumer.

:func:`worker.queue.bulk.enqueue_all` sends each message through ``RedisBroker``'s own ``dispatch``
script with ``RedisBroker.enqueue``'s arguments, reading a few of the broker's private helpers: these
tests catch a dramatiq upgrade that changes them (a real ``dramatiq.Worker`` must take every message,
and a message must be stored exactly as ``enqueue`` stores it). On fakeredis, and on a real Redis
under ``CI=true`` (this run's own namespace, see tests/conftest.py).
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import dramatiq
import fakeredis
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.queue.fakes import RecordingHandlers, make_settings
from worker.queue.actors import Actors, declare_actors
from worker.queue.broker import QUEUE_NAME, make_broker, queue_depths, start_worker
from worker.queue.bulk import enqueue_all, enqueue_calls

JOIN_MS = 20_000


class EnqueueHooks(dramatiq.Middleware):
    """Records the message ids that the enqueue hooks saw (the broker's middleware relies on them)."""

    def __init__(self) -> None:
        self.before: list[str] = []
        self.after: list[str] = []

    def before_enqueue(
        self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None
    ) -> None:
        self.before.append(message.message_id)

    def after_enqueue(
        self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None
    ) -> None:
        self.after.append(message.message_id)


@pytest.fixture(params=["fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
def redis_broker(request: pytest.FixtureRequest) -> Iterator[RedisBroker]:
    """A RedisBroker on fakeredis, and on a real Redis (skipped locally without one, required on CI)."""
    client = fakeredis.FakeRedis() if request.param == "fakeredis" else request.getfixturevalue("real_redis")
    broker = make_broker(make_settings(), redis_client=client)
    assert isinstance(broker, RedisBroker)
    broker.declare_queue(QUEUE_NAME)
    yield broker
    broker.flush_all()  # this broker's namespace only
    broker.close()


def stored_messages(broker: RedisBroker) -> dict[str, dict[str, Any]]:
    """The messages waiting on the queue, as Redis holds them, by their Redis message id."""
    client: Any = broker.client
    raw = client.hgetall(f"{broker.namespace}:{QUEUE_NAME}.msgs")
    return {key.decode(): dramatiq.Message.decode(value).asdict() for key, value in raw.items()}


def queued_ids(broker: RedisBroker) -> list[str]:
    """The Redis message ids on the queue's list, in the order a consumer takes them."""
    client: Any = broker.client
    return [item.decode() for item in client.lrange(f"{broker.namespace}:{QUEUE_NAME}", 0, -1)]


def taker(broker: dramatiq.Broker) -> tuple[dramatiq.Actor[[int], None], list[int]]:
    """An actor that records its argument, and the list it records to."""
    taken: list[int] = []
    lock = threading.Lock()

    def take(n: int) -> None:
        with lock:
            taken.append(n)

    return dramatiq.actor(broker=broker, queue_name=QUEUE_NAME, actor_name="take")(take), taken


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- a real consumer takes every message ----------------------------------------------------------


def test_every_message_of_a_group_is_consumed_by_a_real_worker(redis_broker: RedisBroker) -> None:
    take, taken = taker(redis_broker)
    enqueue_all(redis_broker, [take.message(n) for n in range(150)])
    assert queue_depths(redis_broker) == {QUEUE_NAME: 150}
    worker = start_worker(redis_broker, threads=2, worker_timeout_ms=50)
    try:
        redis_broker.join(QUEUE_NAME, timeout=JOIN_MS)
    finally:
        worker.stop()
    assert sorted(taken) == list(range(150))  # each once: none lost, none twice
    assert queue_depths(redis_broker) == {QUEUE_NAME: 0}  # every one acknowledged


def test_enqueue_inbox_many_reaches_the_inbox_handlers(redis_broker: RedisBroker) -> None:
    handlers = RecordingHandlers()
    actors = declare_actors(redis_broker, handlers)
    actors.enqueue_inbox_many([("picqer", 1), ("shop-nl", 2), ("woo", 3), ("picqer", 4)])
    worker = start_worker(redis_broker, threads=2, worker_timeout_ms=50)
    try:
        redis_broker.join(QUEUE_NAME, timeout=JOIN_MS)
    finally:
        worker.stop()
    assert sorted(call[:2] for call in handlers.calls) == [
        ("process_picqer_event", (1,)),
        ("process_picqer_event", (4,)),
        ("process_shop_event", (2,)),
        ("process_shop_event", (3,)),
    ]


# -- stored as RedisBroker.enqueue stores it ------------------------------------------------------


def test_a_message_is_stored_exactly_as_enqueue_stores_it(redis_broker: RedisBroker) -> None:
    take, _ = taker(redis_broker)
    message = take.message_with_options(args=(7,), kwargs={}, max_retries=3)
    redis_broker.enqueue(message)
    enqueue_all(redis_broker, [message])
    stored = stored_messages(redis_broker)
    assert len(stored) == 2  # each enqueue has its own Redis id
    one, other = [
        {**body, "options": {k: v for k, v in body["options"].items() if k != "redis_message_id"}}
        for body in stored.values()
    ]
    assert one == other
    for redis_id, body in stored.items():
        assert body["options"]["redis_message_id"] == redis_id
    assert sorted(queued_ids(redis_broker)) == sorted(stored)  # both waiting on the queue itself
    # the dispatch script stamped this process's heartbeat, as every broker command does
    assert redis_broker.client.zscore(f"{redis_broker.namespace}:__heartbeats__", redis_broker.broker_id)


def test_enqueue_inbox_many_sends_what_enqueue_inbox_sends(redis_broker: RedisBroker) -> None:
    actors = declare_actors(redis_broker, RecordingHandlers())
    group = [("picqer", 11), ("shop-nl", 12)]
    for source, inbox_id in group:
        actors.enqueue_inbox(source, inbox_id)  # actor.send, one by one
    one_by_one = stored_messages(redis_broker)
    redis_broker.flush(QUEUE_NAME)
    actors.enqueue_inbox_many(group)
    grouped = stored_messages(redis_broker)

    def comparable(messages: dict[str, dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(
            (
                body["queue_name"],
                body["actor_name"],
                tuple(body["args"]),
                tuple(sorted(body["kwargs"].items())),
                tuple(sorted((k, v) for k, v in body["options"].items() if k != "redis_message_id")),
            )
            for body in messages.values()
        )

    assert comparable(grouped) == comparable(one_by_one)
    assert [body["actor_name"] for body in grouped.values()].count("process_picqer_event") == 1


def test_the_order_of_the_group_is_the_order_on_the_queue(redis_broker: RedisBroker) -> None:
    take, _ = taker(redis_broker)
    messages = [take.message(n) for n in range(20)]
    enqueue_all(redis_broker, messages)
    stored = stored_messages(redis_broker)
    assert [stored[redis_id]["args"] for redis_id in queued_ids(redis_broker)] == [(n,) for n in range(20)]


def test_the_enqueue_hooks_run_for_each_message(redis_broker: RedisBroker) -> None:
    hooks = EnqueueHooks()
    redis_broker.add_middleware(hooks)
    take, _ = taker(redis_broker)
    messages = [take.message(n) for n in range(3)]
    enqueue_all(redis_broker, messages)
    ids = [message.message_id for message in messages]
    assert hooks.before == ids
    assert hooks.after == ids


def test_an_empty_group_sends_nothing(redis_broker: RedisBroker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_broker.client, "pipeline", lambda **_: pytest.fail("no round trip for nothing"))
    enqueue_all(redis_broker, [])
    Actors.enqueue_inbox_many(declare_actors(redis_broker, RecordingHandlers()), [])
    assert stored_messages(redis_broker) == {}


# -- Redis lost its scripts -----------------------------------------------------------------------


def test_after_script_flush_the_group_is_still_delivered(monkeypatch: pytest.MonkeyPatch) -> None:
    """SCRIPT FLUSH is global to a Redis server, and a concurrent run of this test could flush between
    another's reload and resend: done on fakeredis only (each FakeRedis is a server of its own); the
    real Redis case below gets its NOSCRIPT without touching anyone else's scripts."""
    client = fakeredis.FakeRedis()
    broker = make_broker(make_settings(), redis_client=client)
    assert isinstance(broker, RedisBroker)
    take, taken = taker(broker)
    enqueue_all(broker, [take.message(0)])  # the dispatch script is loaded now
    client.script_flush()
    loads: list[Any] = []
    load = client.script_load

    def recorded_load(script: Any) -> Any:
        loads.append(script)
        return load(script)

    monkeypatch.setattr(client, "script_load", recorded_load)
    enqueue_all(broker, [take.message(n) for n in range(1, 6)])
    assert loads == [broker.scripts["dispatch"].script]  # the NOSCRIPT path ran, once
    worker = start_worker(broker, threads=1, worker_timeout_ms=50)
    try:
        broker.join(QUEUE_NAME, timeout=JOIN_MS)
    finally:
        worker.stop()
    assert sorted(taken) == list(range(6))
    broker.close()


def test_a_script_redis_does_not_hold_is_loaded_and_the_group_sent(redis_broker: RedisBroker) -> None:
    """NOSCRIPT from the server itself: the dispatch script with a comment of its own (the same code,
    a sha no server has seen), so no SCRIPT FLUSH is needed on a shared Redis."""
    original = redis_broker.scripts["dispatch"]
    text = original.script.decode() if isinstance(original.script, bytes) else original.script
    unseen = redis_broker.client.register_script(f"{text}\n-- {uuid.uuid4()}\n")
    assert not redis_broker.client.script_exists(unseen.sha)[0]
    redis_broker.scripts["dispatch"] = unseen
    take, taken = taker(redis_broker)
    enqueue_all(redis_broker, [take.message(n) for n in range(5)])
    assert redis_broker.client.script_exists(unseen.sha)[0]  # loaded by enqueue_all's retry
    assert queue_depths(redis_broker) == {QUEUE_NAME: 5}  # sent once: the failed pipeline ran nothing
    worker = start_worker(redis_broker, threads=1, worker_timeout_ms=50)
    try:
        redis_broker.join(QUEUE_NAME, timeout=JOIN_MS)
    finally:
        worker.stop()
    assert sorted(taken) == list(range(5))


# -- the queue did not take them ------------------------------------------------------------------


def test_a_redis_that_is_not_there_raises() -> None:
    client = redis.Redis(
        host="127.0.0.1", port=closed_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    broker = make_broker(make_settings(), redis_client=client)
    hooks = EnqueueHooks()
    broker.add_middleware(hooks)
    actors = declare_actors(broker, RecordingHandlers())
    with pytest.raises(redis.ConnectionError):
        enqueue_all(broker, [actors.process_shop_event.message(1)])
    with pytest.raises(redis.ConnectionError):
        actors.enqueue_inbox_many([("shop-nl", 1), ("picqer", 2)])
    assert hooks.after == []  # nothing claimed as enqueued
    broker.close()


def test_a_pipeline_that_fails_raises_and_enqueues_nothing(
    redis_broker: RedisBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = EnqueueHooks()
    redis_broker.add_middleware(hooks)
    actors = declare_actors(redis_broker, RecordingHandlers())
    make_pipeline = redis_broker.client.pipeline

    def failing_pipeline(**options: Any) -> Any:
        pipeline = make_pipeline(**options)

        def execute(*_: Any, **__: Any) -> None:
            raise redis.ConnectionError("connection reset by peer")

        monkeypatch.setattr(pipeline, "execute", execute)
        return pipeline

    monkeypatch.setattr(redis_broker.client, "pipeline", failing_pipeline)
    with pytest.raises(redis.ConnectionError):
        actors.enqueue_inbox_many([("shop-nl", 1), ("shop-nl", 2)])
    assert hooks.after == []
    monkeypatch.undo()
    assert stored_messages(redis_broker) == {}


# -- the in-process broker ------------------------------------------------------------------------


def test_the_in_process_broker_enqueues_each(monkeypatch: pytest.MonkeyPatch) -> None:
    broker = make_broker(make_settings())
    assert isinstance(broker, StubBroker)
    handlers = RecordingHandlers()
    actors = declare_actors(broker, handlers)
    enqueued: list[tuple[str, tuple[Any, ...]]] = []
    enqueue = broker.enqueue

    def spy(message: dramatiq.Message[Any], *, delay: int | None = None) -> dramatiq.Message[Any]:
        enqueued.append((message.actor_name, message.args))
        return enqueue(message, delay=delay)

    monkeypatch.setattr(broker, "enqueue", spy)
    actors.enqueue_inbox_many([("shop-nl", 5), ("picqer", 6), ("woo", 7)])
    assert enqueued == [
        ("process_shop_event", (5,)),
        ("process_picqer_event", (6,)),
        ("process_shop_event", (7,)),
    ]
    assert queue_depths(broker) == {QUEUE_NAME: 3}
    enqueue_all(broker, [])
    assert len(enqueued) == 3
    worker = start_worker(broker, threads=1, worker_timeout_ms=50)
    try:
        broker.join(QUEUE_NAME, timeout=JOIN_MS)
    finally:
        worker.stop()
    assert sorted(call[:2] for call in handlers.calls) == [
        ("process_picqer_event", (6,)),
        ("process_shop_event", (5,)),
        ("process_shop_event", (7,)),
    ]
    broker.close()


# -- enqueue_calls: the stored form written directly, only when nothing would see the Message ------


def raw_stored(broker: RedisBroker) -> list[dict[str, Any]]:
    client: Any = broker.client
    return [json.loads(value) for value in client.hgetall(f"{broker.namespace}:{QUEUE_NAME}.msgs").values()]


def test_enqueue_calls_stores_the_bytes_enqueue_would_store(redis_broker: RedisBroker) -> None:
    take, taken = taker(redis_broker)
    redis_broker.enqueue(take.message(5))
    [by_enqueue] = raw_stored(redis_broker)
    redis_broker.flush(QUEUE_NAME)
    enqueue_calls(redis_broker, [(take, (5,))])
    [by_calls] = raw_stored(redis_broker)
    # the same fields in the same order, the same values but for the ids and the time
    assert list(by_calls) == list(by_enqueue)
    volatile = ("message_id", "message_timestamp", "options")
    assert {k: v for k, v in by_calls.items() if k not in volatile} == {
        k: v for k, v in by_enqueue.items() if k not in volatile
    }
    assert list(by_calls["options"]) == list(by_enqueue["options"]) == ["redis_message_id"]
    assert isinstance(by_calls["message_timestamp"], int)
    assert str(uuid.UUID(by_calls["message_id"])) == by_calls["message_id"]
    # and dramatiq's own worker takes it
    worker = dramatiq.Worker(redis_broker, worker_timeout=50)
    worker.start()
    try:
        redis_broker.join(QUEUE_NAME, timeout=JOIN_MS)
        worker.join()
    finally:
        worker.stop()
    assert taken == [5]


def test_enqueue_calls_makes_messages_when_a_middleware_hooks_the_enqueue(redis_broker: RedisBroker) -> None:
    hooks = EnqueueHooks()
    redis_broker.add_middleware(hooks)
    take, _ = taker(redis_broker)
    enqueue_calls(redis_broker, [(take, (n,)) for n in range(3)])
    assert len(hooks.before) == len(hooks.after) == 3
    assert sorted(body["args"] for body in stored_messages(redis_broker).values()) == [(0,), (1,), (2,)]
