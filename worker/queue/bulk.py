"""Enqueue a group of messages at once: on Redis, one pipelined round trip for the whole group.

dramatiq's ``RedisBroker.enqueue`` is one round trip per message, through its ``dispatch`` Lua script.
The receiver commits webhooks in groups (:mod:`worker.receiver.writer`), and a round trip each made
the enqueue most of a group's time: the writer thread waited on Redis, then on the event loop for
the GIL, once per message. :func:`enqueue_all` sends each message through the very same script with
the very same arguments as ``RedisBroker.enqueue`` (so the broker's heartbeat and maintenance work as
before, and a consumer cannot tell the difference), all in one pipeline.

It reads a few of ``RedisBroker``'s own attributes and helpers (``scripts``, ``broker_id``,
``_should_do_maintenance``, ``_max_unpack_size``), which is why pyproject pins dramatiq below its
next major version and ``tests/queue/test_bulk_enqueue.py`` checks a real consumer takes every
message it sends, on fakeredis and on real Redis. Other brokers (the in-process one) get one
``enqueue`` per message: it costs no round trip there.

The same pipeline ends with one PUBLISH on the broker's wake channel (:mod:`worker.queue.wake`) for
the whole group, after the messages are on their queue: a worker waiting on that queue fetches them
at once. :func:`dispatch` is also the Redis broker's own single enqueue
(:class:`worker.queue.broker.WakingRedisBroker`), so every enqueue wakes the workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import dramatiq
import orjson
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis, dq_name
from dramatiq.encoder import JSONEncoder
from dramatiq.middleware import Middleware
from redis.exceptions import NoScriptError

from worker.queue.wake import wake_channel


def enqueue_all(broker: dramatiq.Broker, messages: Sequence[dramatiq.Message[object]]) -> None:
    """Enqueue every message of ``messages`` (no delay); raise when Redis did not take them all.

    On an error some of them may be enqueued already: the caller treats the whole group as not
    enqueued and enqueues it again later, so a message can arrive twice, never not at all.
    """
    if not messages:
        return
    if not isinstance(broker, RedisBroker):
        for message in messages:
            broker.enqueue(message)
        return
    prepared = []
    for message in messages:
        # as RedisBroker.enqueue: each enqueued message has its own id in Redis
        message = message.copy(options={"redis_message_id": str(uuid4())})
        broker.emit_before("enqueue", message, None)
        prepared.append(message)
    dispatch(
        broker,
        [(message.queue_name, message.options["redis_message_id"], message.encode()) for message in prepared],
    )
    for message in prepared:
        broker.emit_after("enqueue", message, None)


def enqueue_calls(
    broker: dramatiq.Broker, calls: Sequence[tuple[dramatiq.Actor[Any, Any], tuple[Any, ...]]]
) -> None:
    """Enqueue ``actor.send(*args)`` for each ``(actor, args)`` of ``calls`` at once, as
    :func:`enqueue_all` does; on Redis without the ``Message`` objects when nothing would see them.

    ``Message``'s construction, copy and encoding cost more than the whole enqueue of a webhook
    otherwise (about 60 microseconds a message). When no middleware of the broker hooks the
    enqueue and messages are encoded as dramatiq's default JSON, each message's stored form is
    written directly: the same fields, values and encoding ``actor.message(*args)`` and
    ``RedisBroker.enqueue`` make (``tests/queue/test_bulk_enqueue.py`` compares them). Otherwise
    the messages are made and sent by :func:`enqueue_all`.
    """
    if not calls:
        return
    if not isinstance(broker, RedisBroker) or not _plain_enqueue(broker):
        enqueue_all(broker, [actor.message(*args) for actor, args in calls])
        return
    stored = []
    for actor, args in calls:
        redis_message_id = str(uuid4())
        data = orjson.dumps(
            {
                "queue_name": actor.queue_name,
                "actor_name": actor.actor_name,
                "args": list(args),
                "kwargs": {},
                "options": {"redis_message_id": redis_message_id},
                "message_id": str(uuid4()),
                "message_timestamp": current_millis(),
            }
        )
        stored.append((actor.queue_name, redis_message_id, data))
    dispatch(broker, stored)


def _plain_enqueue(broker: RedisBroker) -> bool:
    """Whether no middleware of ``broker`` hooks the enqueue and messages are encoded as dramatiq's
    default JSON (a middleware can be added later: asked each time, a few attribute reads)."""
    if type(dramatiq.get_encoder()) is not JSONEncoder:
        return False
    for middleware in broker.middleware:
        kind = type(middleware)
        if (
            kind.before_enqueue is not Middleware.before_enqueue
            or kind.after_enqueue is not Middleware.after_enqueue
        ):
            return False
    return True


def dispatch(broker: RedisBroker, stored: Sequence[tuple[str, str, bytes]]) -> None:
    """Each ``(queue_name, redis_message_id, encoded message)`` through the dispatch script, as
    ``RedisBroker.do_enqueue`` sends it, and one wake-up for the group, in one pipeline."""
    script = broker.scripts["dispatch"]
    unpack_size = broker._max_unpack_size()  # type: ignore[no-untyped-call]
    commands: list[list[str | int | bytes]] = [
        [
            "enqueue",
            current_millis(),
            queue_name,
            broker.broker_id,
            broker.heartbeat_timeout,
            broker.dead_message_ttl,
            broker._should_do_maintenance("enqueue"),
            unpack_size,
            redis_message_id,
            data,
        ]
        for queue_name, redis_message_id, data in stored
    ]
    # a delayed message (a retry) waits on its delay queue, which is polled: nothing to wake for it
    woken = sorted({queue_name for queue_name, _, _ in stored if dq_name(queue_name) != queue_name})
    try:
        _send(broker, script.sha, commands, woken)
    except NoScriptError:
        # Redis lost its scripts (a restart, SCRIPT FLUSH): none of the group ran; load, send again
        broker.client.script_load(script.script)
        _send(broker, script.sha, commands, woken)


def _send(
    broker: RedisBroker, sha: str, commands: Sequence[Sequence[str | int | bytes]], woken: Sequence[str]
) -> None:
    # EVALSHA straight away: redis-py's pipelined script call would first ask SCRIPT EXISTS, a
    # second round trip per group
    with broker.client.pipeline(transaction=False) as pipeline:
        for args in commands:
            pipeline.evalsha(sha, 1, broker.namespace, *args)
        if woken:
            # after the messages: Redis runs a connection's commands in order, so a woken consumer
            # finds them (the wake-up carries the queue names for whoever watches the channel)
            pipeline.publish(wake_channel(broker.namespace), ",".join(woken))
        pipeline.execute()


__all__ = ["dispatch", "enqueue_all", "enqueue_calls"]
