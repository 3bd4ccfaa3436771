"""The one broker factory: Redis when there is a Redis, dramatiq's in-memory broker otherwise.

The in-memory broker (dramatiq's ``StubBroker``) is only sound for the single-process ``run``: the
webhook inbox in the mirror is what survives a restart there, and the sweeper re-enqueues it.

A SIGKILLed worker's messages, on Redis. dramatiq's ``dispatch.lua`` runs on every broker command:
it stamps the calling process's heartbeat (``__heartbeats__``, one broker id per process) and, with
a chance of ``maintenance_chance`` in a million (ack and nack excepted), does maintenance on the
command's queue: every unacknowledged message of a process whose heartbeat is older than
``heartbeat_timeout`` goes back on that queue. dramatiq's defaults (60 s, 1 in 1000) bring a dead
worker's messages back after a minute at the soonest, and when few commands run, minutes later.
Ours (``HEARTBEAT_TIMEOUT_MS``, ``MAINTENANCE_CHANCE``) bring them back within about 15 s.

An idle worker does not wait for its next poll to take a new message: every enqueue wakes it
(:class:`WakingRedisBroker`, :mod:`worker.queue.wake`).
"""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    ShutdownNotifications,
    TimeLimit,
)

from worker.config import Settings
from worker.queue.bulk import dispatch
from worker.queue.middleware import DeadLetters, DurableRetries, LogContext, MessageMetrics
from worker.queue.wake import (
    DelayQueueConsumer,
    WakeSignal,
    WakeSubscriber,
    WakingConsumer,
    unreachable_as_connection_closed,
    wake_channel,
)

QUEUE_NAME = "picqer-sync"  # every actor's queue: one kind of worker process takes them all
DEFAULT_MAX_RETRIES = 5  # actors set their own; this only guards an actor that forgot

# how long an idle worker waits before it looks at its queues again. A new message does not wait for
# it: every enqueue wakes the waiting consumers (worker.queue.wake), so this is the pickup delay only
# of messages that arrive without a wake-up (a dead worker's, brought back by maintenance; a
# stopped worker's, requeued) and of delayed retries, and what paces the heartbeat and maintenance
# below. dramatiq's Redis consumer polls (there is no blocking fetch); after a few empty polls it
# waits between half and all of this. Before wake-ups, this was the pickup delay of every order
# after a quiet spell: 200 ms made the split mode's shop-webhook-to-Picqer latency p95 140-280 ms
# against `run`'s 40-200 (issue 12), and 25 ms cost about 5 % of a core per idle worker process
# (measured: 0.9 % at 200 ms, 10 % at 10 ms). While wake-ups are lost (the subscriber reconnecting)
# consumers poll at wake.POLL_WITHOUT_WAKE_MS (25 ms) instead.
WORKER_TIMEOUT_MS = 100

# A live worker stamps its heartbeat at least every WORKER_TIMEOUT_MS: its delay-queue consumer
# (prefetch 1000 per thread, never full) polls Redis that often even when every thread is busy, and
# every ack stamps it too. 12 s is over a hundred of those polls, so only a dead process (or one cut
# off from Redis that long) looks dead; a live one mistaken for dead costs a message processed twice,
# which the order lock and the look-up by reference make harmless. It is also about the order
# lock's lease (worker.infra.locks.LOCK_TTL_SECONDS): the message comes back when its lock is free.
HEARTBEAT_TIMEOUT_MS = 12_000
# one command in 5 does maintenance: each live process polls each of its two queues at least 10
# times a second when idle (wake-ups only add polls), and once per message when busy, so a live
# process runs maintenance on each queue about twice a second; maintenance without a dead worker is
# a ZRANGEBYSCORE on a set of a few members. A dead worker's messages are back within a second or
# two after its heartbeat is HEARTBEAT_TIMEOUT_MS old, so about 13-14 s after the kill; 20 s would
# take a hundred maintenance-free polls in a row (0.8 ** 100, about 2e-10). (dramatiq counts the
# chance in a million.)
MAINTENANCE_CHANCE = 200_000


class WakingRedisBroker(RedisBroker):
    """dramatiq's ``RedisBroker`` whose enqueues wake the consumers waiting on an empty queue.

    Each enqueue (:func:`worker.queue.bulk.dispatch`: the dispatch script as dramatiq sends it, and a
    PUBLISH on ``<namespace>:wake``, one round trip) wakes them; its consumers of a queue wait for a
    wake-up between empty polls (:class:`worker.queue.wake.WakingConsumer`), fed by one subscriber
    thread per broker, so per process, started by the first such consumer. Delay queues are polled
    as dramatiq polls them: a delayed retry has its time, not a wake-up, to wait for.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)  # type: ignore[no-untyped-call]
        self.wake_signal = WakeSignal()
        self._wake_subscriber = WakeSubscriber(self.client, wake_channel(self.namespace), self.wake_signal)

    def do_enqueue(self, queue_name: str, redis_message_id: str, data: bytes) -> None:
        # a consumer thread enqueues the delayed messages that fell due: Redis away then must be
        # the connection error dramatiq's thread survives (QueueUnreachable says why)
        with unreachable_as_connection_closed():
            dispatch(self, [(queue_name, redis_message_id, data)])

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> dramatiq.Consumer:
        if dq_name(queue_name) == queue_name:
            return DelayQueueConsumer(self, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self._wake_subscriber.start()
        return WakingConsumer(self, queue_name, prefetch, timeout, signal=self.wake_signal)

    def close(self) -> None:
        self._wake_subscriber.close()
        super().close()


def make_broker(settings: Settings, *, redis_client: Any = None) -> dramatiq.Broker:
    """Build the broker, install it as dramatiq's global broker and return it.

    Redis over ``redis_client`` (the process's one client, :func:`worker.infra.redis.connect_redis`;
    fakeredis in tests), its keys under ``settings.redis_namespace``; dramatiq's in-process
    ``StubBroker`` when it is None, to be driven by a ``dramatiq.Worker`` in the same process.
    Declare the actors on the returned broker with :func:`worker.queue.actors.declare_actors`.
    """
    middleware = [
        MessageMetrics(),  # first: its after_* hooks run last and see the final outcome
        DeadLetters(),  # before Retries: runs after it, so it sees whether the message failed
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        # before Retries: the message is still current when Retries asks an actor's retry_when
        CurrentMessage(),
        # Retries whose re-enqueue waits out a Redis outage instead of losing the message
        DurableRetries(max_retries=DEFAULT_MAX_RETRIES),
        LogContext(),
    ]
    broker: dramatiq.Broker
    if redis_client is not None:
        broker = WakingRedisBroker(
            client=redis_client,
            namespace=settings.redis_namespace,
            middleware=middleware,
            heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=MAINTENANCE_CHANCE,
        )
    else:
        # fail_fast_default=False: join() is for tests; a dead-lettered message must not raise there
        broker = StubBroker(middleware=middleware, fail_fast_default=False)
    dramatiq.set_broker(broker)
    return broker


def start_worker(
    broker: dramatiq.Broker, *, threads: int, worker_timeout_ms: int = WORKER_TIMEOUT_MS
) -> dramatiq.Worker:
    """Boot the broker's middleware (once) and start ``threads`` worker threads in this process.

    ``worker_timeout_ms`` is how long a thread waits on an empty queue before it looks again (on
    Redis, unless an enqueue wakes it first), so also how quickly ``stop()`` returns.
    """
    if not getattr(broker, "_picqer_sync_booted", False):
        # dramatiq's CLI does this per process; TimeLimit starts its watchdog thread here
        broker.emit_after("process_boot")
        broker._picqer_sync_booted = True  # type: ignore[attr-defined]
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=worker_timeout_ms)
    worker.start()
    return worker


def is_in_process(broker: dramatiq.Broker) -> bool:
    """Whether messages live only in this process's memory (lost on exit; the inbox sweeper repairs)."""
    return isinstance(broker, StubBroker)


def queue_depths(broker: dramatiq.Broker) -> dict[str, int]:
    """Messages waiting per declared queue (delayed retries counted with their queue)."""
    depths: dict[str, int] = {}
    for name in sorted(broker.get_declared_queues()):
        if name.endswith((".DQ", ".XQ")):
            continue  # the stub broker lists its delay queues too; they are counted with their queue
        depths[name] = _depth(broker, name) + _depth(broker, dq_name(name))
    return depths


def _depth(broker: dramatiq.Broker, queue_name: str) -> int:
    if isinstance(broker, RedisBroker):
        # the message hash holds every message not yet acknowledged, in flight ones included
        return int(broker.client.hlen(f"{broker.namespace}:{queue_name}.msgs"))
    if isinstance(broker, StubBroker):
        queue = broker.queues.get(queue_name)
        return 0 if queue is None else int(queue.qsize())
    return 0


def ping(broker: dramatiq.Broker) -> None:
    """Raise when the broker cannot take a message (for ``/readyz``)."""
    if isinstance(broker, RedisBroker):
        broker.client.ping()
