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
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import uuid4

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis
from redis.exceptions import NoScriptError


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
    dispatch = broker.scripts["dispatch"]
    unpack_size = broker._max_unpack_size()  # type: ignore[no-untyped-call]
    commands: list[list[str | int | bytes]] = [
        [
            "enqueue",
            current_millis(),
            message.queue_name,
            broker.broker_id,
            broker.heartbeat_timeout,
            broker.dead_message_ttl,
            broker._should_do_maintenance("enqueue"),
            unpack_size,
            message.options["redis_message_id"],
            message.encode(),
        ]
        for message in prepared
    ]
    try:
        _send(broker, dispatch.sha, commands)
    except NoScriptError:
        # Redis lost its scripts (a restart, SCRIPT FLUSH): none of the group ran; load, send again
        broker.client.script_load(dispatch.script)
        _send(broker, dispatch.sha, commands)
    for message in prepared:
        broker.emit_after("enqueue", message, None)


def _send(broker: RedisBroker, sha: str, commands: Sequence[Sequence[str | int | bytes]]) -> None:
    # EVALSHA straight away: redis-py's pipelined script call would first ask SCRIPT EXISTS, a
    # second round trip per group
    with broker.client.pipeline(transaction=False) as pipeline:
        for args in commands:
            pipeline.evalsha(sha, 1, broker.namespace, *args)
        pipeline.execute()


__all__ = ["enqueue_all"]
