"""Wake on enqueue: a worker waiting on an empty Redis queue takes a new message at once.

dramatiq's Redis consumer has no blocking fetch: it polls, and sleeps between empty polls, so an
order arriving after a quiet spell waited for the next poll (issue 12: the split mode's pickup
delay). Here every enqueue on a queue (never on a delay queue) also PUBLISHes the queue's name on
``<namespace>:wake`` in the same round trip (:mod:`worker.queue.bulk`), and each process that
consumes runs one :class:`WakeSubscriber` thread that turns those into a :class:`WakeSignal`: its
consumer's wait between empty polls ends on a wake-up instead of sleeping out its backoff.

Polling stays: messages that reach a queue without a PUBLISH (a dead worker's, brought back by the
broker's maintenance; a stopped worker's, requeued) are taken at the next poll, and polls stamp the
process's heartbeat (:mod:`worker.queue.broker`). A wake-up can only be lost while the subscriber is
not subscribed: then the signal says so and consumers poll at :data:`POLL_WITHOUT_WAKE_MS`, and each
change of the subscription wakes every consumer, so a message published during a gap is fetched as
soon as the subscriber is back.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import _RedisConsumer
from dramatiq.common import compute_backoff
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from worker.logging import get_logger

log = get_logger(__name__)

# how long a consumer waits between empty polls while wake-ups are not arriving (the subscriber is
# reconnecting, or not started yet): the pickup delay before wake-ups, about 0.4 of it on average
POLL_WITHOUT_WAKE_MS = 25
# the subscriber's read timeout: how long ``close()`` (a broker's, an App's) may wait for its thread;
# an idle subscriber wakes this often (a select on one socket)
LISTEN_SECONDS = 0.25
# silence on the subscription this long sends a PING; no answer to anything for SILENT_SECONDS makes
# the connection count as lost (a Redis gone without closing the socket, a dropped NAT entry), and
# consumers poll at POLL_WITHOUT_WAKE_MS until it is back
PING_SECONDS = 3.0
SILENT_SECONDS = 10.0
# between attempts to subscribe again while Redis is away
RETRY_SECONDS = 1.0


# what redis-py raises when Redis cannot be reached or does not answer in time
_UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)


class QueueUnreachable(ConnectionClosed, redis.ConnectionError):
    """Redis did not take a broker command: unreachable, or no answer within the client's timeout.

    dramatiq's consumer threads treat only their own ``ConnectionError`` as a lost connection (log
    it, start a new consumer a second later). Anything else is "unexpected": the thread then
    requeues its delayed messages on the same dead connection, and that second error ends the thread
    for good, printing a traceback (``make chaos``: a worker lost its delay-queue consumer when a
    delayed retry fell due during the Redis outage). This is both dramatiq's error and redis-py's,
    so our own callers, which catch redis-py's, see no difference.
    """


def wake_channel(namespace: str) -> str:
    """The channel a broker under ``namespace`` publishes its wake-ups on."""
    return f"{namespace}:wake"


class WakeSignal:
    """A count of wake-ups, and whether wake-ups are arriving at all (the subscriber is subscribed).

    A consumer reads :attr:`count` before it fetches and, when the fetch was empty, waits for the
    count to move past what it read: a wake-up between its fetch and its wait is not lost. Losing
    the subscription and each confirmation of it move the count too, so a waiting consumer polls
    again at once, then waits as :attr:`live` says.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._count = 0
        self._live = False

    @property
    def count(self) -> int:
        return self._count

    @property
    def live(self) -> bool:
        """Whether an enqueue now is sure to wake a waiting consumer."""
        return self._live

    def wake(self) -> None:
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def set_live(self, live: bool) -> None:
        """Wake-ups arrive (a subscription confirmed, again too: what was published before it may be
        lost) or stopped arriving (once: failed tries to subscribe again wake nobody)."""
        with self._changed:
            if live or self._live:
                self._count += 1
                self._changed.notify_all()
            self._live = live

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the count to differ from ``seen``; whether it did."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count != seen, timeout)


class WakeSubscriber:
    """One thread that subscribes to ``channel`` on ``client``'s connection pool and feeds ``signal``.

    It never gives up: a lost subscription (Redis restarted or away, the connection killed) logs one
    warning, marks the signal not live, and is tried again every :data:`RETRY_SECONDS`; a line
    says when it is back.
    """

    def __init__(self, client: Any, channel: str, signal: WakeSignal) -> None:
        self._client = client
        self._channel = channel
        self._signal = signal
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._lost = False  # in an outage already logged

    def start(self) -> None:
        """Start the thread (once; later calls do nothing)."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="queue-wake-subscriber", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop the thread and wait for it (about :data:`LISTEN_SECONDS` at most)."""
        self._stopping.set()
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(LISTEN_SECONDS + 1.0)
        self._signal.set_live(False)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            pubsub = None
            try:
                pubsub = self._client.pubsub()
                pubsub.subscribe(self._channel)
                self._listen(pubsub)
            except Exception as error:  # whatever the client raises, the thread must go on
                self._signal.set_live(False)
                if not self._lost:  # an outage logs once, when it starts
                    log.warning(
                        "queue_wake_ups_lost",
                        channel=self._channel,
                        error_type=type(error).__name__,
                        poll_ms=POLL_WITHOUT_WAKE_MS,
                    )
                    self._lost = True
            finally:
                if pubsub is not None:
                    _close_quietly(pubsub)
            self._stopping.wait(RETRY_SECONDS)
        self._signal.set_live(False)

    def _listen(self, pubsub: Any) -> None:
        """Read the subscription until stopped; raise when the connection is lost or silent for
        :data:`SILENT_SECONDS`."""
        heard = pinged = time.monotonic()
        while not self._stopping.is_set():
            message = pubsub.get_message(timeout=LISTEN_SECONDS)
            now = time.monotonic()
            if message is not None:
                heard = now
                kind = message.get("type")
                if kind == "message":
                    self._signal.wake()
                elif kind == "subscribe":
                    # also after redis-py reconnected and subscribed again by itself: what was
                    # published meanwhile is fetched by the consumers this wakes
                    self._signal.set_live(True)
                    if self._lost:
                        log.info("queue_wake_ups_back", channel=self._channel)
                        self._lost = False
                continue
            if now - heard >= SILENT_SECONDS:
                raise ConnectionError(f"no answer on {self._channel} for {SILENT_SECONDS:g} s")
            if now - max(heard, pinged) >= PING_SECONDS:
                pubsub.ping()
                pinged = now


class _Consumer(_RedisConsumer):
    """dramatiq's Redis consumer whose requeue raises a lost Redis as :class:`QueueUnreachable`
    (dramatiq's own ``requeue`` lets redis-py's error through)."""

    def requeue(self, messages: Any) -> None:
        with unreachable_as_connection_closed():
            super().requeue(messages)  # type: ignore[no-untyped-call]


class WakingConsumer(_Consumer):
    """dramatiq's Redis consumer whose wait between empty polls ends on a wake-up of ``signal``.

    ``__next__`` is dramatiq's own (2.x) but for the wait: after an empty fetch it waits for the
    signal up to its backoff (at most ``timeout``, the worker's idle poll) while wake-ups arrive, and
    polls as dramatiq does, capped at :data:`POLL_WITHOUT_WAKE_MS`, while they do not. With every
    prefetched message still in the worker's hands it fetches nothing and waits for an ack or nack
    to free a place, instead of sleeping out a backoff while worker threads run dry.
    """

    def __init__(
        self, broker: Any, queue_name: str, prefetch: int, timeout: int, *, signal: WakeSignal
    ) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self.signal = signal
        self._room = threading.Event()  # set when an ack or nack frees a prefetch place

    def ack(self, message: Any) -> None:
        try:
            super().ack(message)  # type: ignore[no-untyped-call]
        finally:
            self._room.set()

    def nack(self, message: Any) -> None:
        try:
            super().nack(message)  # type: ignore[no-untyped-call]
        finally:
            self._room.set()

    def __next__(self) -> MessageProxy | None:
        with unreachable_as_connection_closed():
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is None:  # as dramatiq: never seen, but it guards against it (its #266)
                        self.logger.warning("Found 'None' message in the cache of queue %r.", self.queue_name)
                        continue
                    self.misses = 0
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    return MessageProxy(message)
                seen = self.signal.count  # before the fetch: a wake-up after it ends the wait
                if self.outstanding_message_count >= self.prefetch:
                    self._room.clear()
                    if self.outstanding_message_count >= self.prefetch:  # no ack since the clear
                        self._room.wait(self.timeout / 1000)
                    return None
                self.message_cache = self.broker.do_fetch(
                    self.queue_name, self.prefetch - self.outstanding_message_count
                )
                if not self.message_cache:
                    self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                    if not self.signal.live:
                        backoff_ms = min(backoff_ms, POLL_WITHOUT_WAKE_MS)
                    self.signal.wait(seen, backoff_ms / 1000)
                    return None


class DelayQueueConsumer(_Consumer):
    """dramatiq's consumer of a delay queue (polled, never woken), whose lost connections, timeouts
    included, are dramatiq's connection errors (:class:`QueueUnreachable`)."""

    def __next__(self) -> MessageProxy | None:
        with unreachable_as_connection_closed():
            return super().__next__()  # type: ignore[no-any-return, no-untyped-call]


@contextlib.contextmanager
def unreachable_as_connection_closed() -> Iterator[None]:
    """Raise redis-py's connection errors and timeouts as :class:`QueueUnreachable`."""
    try:
        yield
    except _UNREACHABLE as error:
        raise QueueUnreachable(error) from error  # type: ignore[no-untyped-call]


def _close_quietly(pubsub: Any) -> None:
    try:
        pubsub.close()
    except Exception:  # a connection already gone has nothing left to close
        return


__all__ = [
    "POLL_WITHOUT_WAKE_MS",
    "DelayQueueConsumer",
    "QueueUnreachable",
    "WakeSignal",
    "WakeSubscriber",
    "WakingConsumer",
    "unreachable_as_connection_closed",
    "wake_channel",
]
