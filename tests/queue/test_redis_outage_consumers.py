"""Redis away while a worker holds a delayed message: its consumer threads outlive the outage.

A delayed message (a retry's back-off) waits in the worker's memory until it falls due, then goes
back on its queue. When it falls due while Redis is unreachable, dramatiq's consumer thread must
take it as a lost connection (log it, start a new consumer a second later); any other error made
the thread requeue on the dead connection, fail again, and end for good (``make chaos`` found it:
a worker left without its delay-queue consumer). On fakeredis, whose server can refuse every
connection.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import dramatiq
import fakeredis
import pytest
import redis
from dramatiq.common import dq_name
from dramatiq.errors import BrokerConnectionError

from tests.queue.fakes import eventually, make_settings
from worker.queue import broker as broker_module
from worker.queue import bulk
from worker.queue.broker import QUEUE_NAME, make_broker, start_worker
from worker.queue.wake import QueueUnreachable


def test_a_delayed_message_due_while_redis_is_away_leaves_every_consumer_thread_running(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fakeredis.FakeServer()
    broker = make_broker(make_settings(), redis_client=fakeredis.FakeRedis(server=server))

    @dramatiq.actor(broker=broker, queue_name=QUEUE_NAME, actor_name="delayed_noop", max_retries=0)
    def delayed_noop() -> None:
        return None

    caplog.set_level(logging.INFO, logger="dramatiq")
    worker = start_worker(broker, threads=1, worker_timeout_ms=50)
    try:
        delayed_noop.send_with_options(delay=800)
        delay_consumer = worker.consumers[dq_name(QUEUE_NAME)]
        eventually(lambda: delay_consumer.delay_queue.qsize() == 1, "the delay-queue consumer to hold it")
        real_dispatch = bulk.dispatch

        def redis_goes_away_first(*args: Any) -> None:
            # Redis goes away just as the message falls due: between the consumer's last poll,
            # which found Redis, and the enqueue of the message
            server.connected = False
            real_dispatch(*args)

        monkeypatch.setattr(broker_module, "dispatch", redis_goes_away_first)
        eventually(
            lambda: any("Consumer encountered" in record.getMessage() for record in caplog.records),
            "the consumer to meet the outage",
        )
        encountered = [r.getMessage() for r in caplog.records if "Consumer encountered" in r.getMessage()]
        assert all("connection error" in message for message in encountered), encountered
        for thread in worker.consumers.values():
            thread.join(1.5)  # a thread that failed on the way out ends within milliseconds
            assert thread.is_alive(), f"the consumer of {thread.queue_name} ended"
    finally:
        server.connected = True
        worker.stop()
        broker.close()


def test_an_enqueue_on_a_redis_that_is_away_is_both_dramatiqs_and_redis_pys_connection_error() -> None:
    server = fakeredis.FakeServer()
    broker = make_broker(make_settings(), redis_client=fakeredis.FakeRedis(server=server))
    server.connected = False
    message: dramatiq.Message[object] = dramatiq.Message(
        queue_name=QUEUE_NAME, actor_name="anything", args=(), kwargs={}, options={}
    )
    with pytest.raises(QueueUnreachable) as raised:
        broker.enqueue(message)
    # dramatiq's consumer threads catch the first, our callers (DurableRetries, the actors) the second
    assert isinstance(raised.value, BrokerConnectionError)
    assert isinstance(raised.value, redis.ConnectionError)
    broker.close()


def test_the_subscriber_thread_is_not_left_behind() -> None:
    threads_before = set(threading.enumerate())
    server = fakeredis.FakeServer()
    broker = make_broker(make_settings(), redis_client=fakeredis.FakeRedis(server=server))
    worker = start_worker(broker, threads=1, worker_timeout_ms=50)
    worker.stop()
    broker.close()
    left = [t for t in set(threading.enumerate()) - threads_before if t.is_alive() and "wake" in t.name]
    assert left == []
