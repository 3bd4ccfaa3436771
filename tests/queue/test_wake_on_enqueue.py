"""Wake on enqueue: a consumer waiting on an empty Redis queue takes a new message without polling.

Each consumer here waits far longer between empty polls than any test waits for it (``LONG_POLL_MS``:
its first wait is 15-30 s), so a message it takes within ``JOIN_SECONDS`` came through a wake-up (or,
while wake-ups are lost, through the fallback polling). On fakeredis, and on a real Redis under
``CI=true`` (this run's own namespace, see tests/conftest.py).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import dramatiq
import fakeredis
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import dq_name
from redis.backoff import NoBackoff
from redis.retry import Retry
from structlog.testing import capture_logs

from tests.conftest import REDIS_URL
from tests.queue.fakes import eventually, make_settings
from worker.queue import wake
from worker.queue.broker import QUEUE_NAME, WakingRedisBroker, make_broker
from worker.queue.bulk import enqueue_all, enqueue_calls
from worker.queue.wake import WakeSignal, WakeSubscriber, WakingConsumer, wake_channel

LONG_POLL_MS = 30_000  # a consumer's longest wait between empty polls: far beyond JOIN_SECONDS
JOIN_SECONDS = 10.0  # generous: a wake-up takes milliseconds
MARKER = b"end-of-test"


@pytest.fixture(autouse=True)
def _quick_subscriber(monkeypatch: pytest.MonkeyPatch) -> None:
    """The subscriber notices a lost connection and tries again within a tenth of a second here."""
    monkeypatch.setattr(wake, "LISTEN_SECONDS", 0.05)
    monkeypatch.setattr(wake, "RETRY_SECONDS", 0.05)


@pytest.fixture(params=["fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
def two_clients(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    """Two clients of one Redis: the worker's and the receiver's (fakeredis: one fake server)."""
    if request.param == "fakeredis":
        server = fakeredis.FakeServer()
        yield fakeredis.FakeRedis(server=server), fakeredis.FakeRedis(server=server)
        return
    first = request.getfixturevalue("real_redis")
    second = redis.Redis.from_url(REDIS_URL)
    try:
        yield first, second
    finally:
        second.close()


@pytest.fixture
def brokers(two_clients: tuple[Any, Any]) -> Iterator[tuple[WakingRedisBroker, WakingRedisBroker]]:
    """The worker's broker and the receiver's, on two clients of one Redis, one namespace."""
    made = []
    for client in two_clients:
        broker = make_broker(make_settings(), redis_client=client)
        assert isinstance(broker, WakingRedisBroker)
        broker.declare_queue(QUEUE_NAME)
        made.append(broker)
    worker_broker, receiver_broker = made
    yield worker_broker, receiver_broker
    for broker in made:
        broker.close()
    worker_broker.flush_all()


def a_message(n: int) -> dramatiq.Message[Any]:
    return dramatiq.Message(queue_name=QUEUE_NAME, actor_name="take", args=(n,), kwargs={}, options={})


class Taker:
    """Iterates a consumer in a thread of its own until it yields a message; ``fetched`` is set when
    the consumer's first fetch came back empty (so it waits from then on)."""

    def __init__(self, broker: WakingRedisBroker, consumer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.consumer = consumer
        self.fetched = threading.Event()
        self.taken: list[Any] = []
        fetch = broker.do_fetch

        def recorded_fetch(*args: Any) -> Any:
            found = fetch(*args)
            if not found:
                self.fetched.set()
            return found

        monkeypatch.setattr(broker, "do_fetch", recorded_fetch, raising=False)
        self.thread = threading.Thread(target=self._take, daemon=True)

    def _take(self) -> None:
        for message in self.consumer:
            if message is not None:
                self.taken.append(message)
                return

    def start(self) -> Taker:
        self.thread.start()
        assert self.fetched.wait(JOIN_SECONDS), "the consumer never fetched"
        return self

    def join(self) -> list[Any]:
        self.thread.join(JOIN_SECONDS)
        return self.taken


def long_polling_consumer(broker: WakingRedisBroker) -> WakingConsumer:
    """A consumer of the queue whose next wait after an empty poll is 15-30 s."""
    consumer = broker.consume(QUEUE_NAME, prefetch=1, timeout=LONG_POLL_MS)
    assert isinstance(consumer, WakingConsumer)
    consumer.misses = 32  # past the doubling: every backoff is between half and all of LONG_POLL_MS
    return consumer


def load_scripts(broker: WakingRedisBroker) -> None:
    """Load the dispatch script, as on any Redis that has seen an enqueue: a group sent to a Redis
    without it is sent again after NOSCRIPT, and its first PUBLISH has run (a wake-up too many,
    harmless: a woken consumer finds nothing and waits again)."""
    broker.client.script_load(broker.scripts["dispatch"].script)


class Published:
    """What is published on a channel, read on a connection of its own, up to ``MARKER``."""

    def __init__(self, client: Any, channel: str) -> None:
        self.client = client
        self.channel = channel
        self.pubsub = client.pubsub()
        self.pubsub.subscribe(channel)
        confirmed = self.pubsub.get_message(timeout=JOIN_SECONDS)  # subscribed before anything is sent
        assert confirmed is not None
        assert confirmed["type"] == "subscribe"

    def until_marker(self) -> list[bytes]:
        """Everything published since, in order: Redis delivers a channel's messages in the order it
        ran the PUBLISHes, so the marker, published last, comes last."""
        self.client.publish(self.channel, MARKER)
        seen: list[bytes] = []
        deadline = time.monotonic() + JOIN_SECONDS
        while time.monotonic() < deadline:
            message = self.pubsub.get_message(timeout=0.1)
            if message is None:
                continue
            if message["data"] == MARKER:
                self.pubsub.close()
                return seen
            seen.append(message["data"])
        raise AssertionError("the marker never came")


# -- a waiting consumer is woken ------------------------------------------------------------------


def test_a_waiting_consumer_takes_a_message_another_client_enqueues(
    brokers: tuple[WakingRedisBroker, WakingRedisBroker], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker_broker, receiver_broker = brokers
    consumer = long_polling_consumer(worker_broker)  # starts the subscriber
    eventually(lambda: worker_broker.wake_signal.live, "the subscriber is subscribed")
    woken = worker_broker.wake_signal.count
    taker = Taker(worker_broker, consumer, monkeypatch).start()  # now waiting 15-30 s
    receiver_broker.enqueue(a_message(7))
    taken = taker.join()
    assert [message.args for message in taken] == [(7,)]
    assert worker_broker.wake_signal.count > woken


def test_a_group_enqueued_by_another_client_wakes_a_waiting_consumer(
    brokers: tuple[WakingRedisBroker, WakingRedisBroker], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker_broker, receiver_broker = brokers
    consumer = long_polling_consumer(worker_broker)
    eventually(lambda: worker_broker.wake_signal.live, "the subscriber is subscribed")
    taker = Taker(worker_broker, consumer, monkeypatch).start()
    enqueue_all(receiver_broker, [a_message(n) for n in range(3)])
    assert [message.args for message in taker.join()] == [(0,)]  # the first of the group (prefetch 1)


class WatchedEvent(threading.Event):
    """An event that says when someone waits on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


def test_a_consumer_with_every_prefetched_message_in_hand_fetches_again_on_an_ack(
    brokers: tuple[WakingRedisBroker, WakingRedisBroker],
) -> None:
    """The place an ack frees is filled at once, not after a backoff of up to LONG_POLL_MS."""
    worker_broker, receiver_broker = brokers
    enqueue_all(receiver_broker, [a_message(1), a_message(2)])
    consumer = long_polling_consumer(worker_broker)
    first = next(consumer)
    assert first is not None
    assert first.args == (1,)
    consumer._room = room = WatchedEvent()
    waited: list[Any] = []
    waiting = threading.Thread(target=lambda: waited.append(next(consumer)), daemon=True)
    waiting.start()  # prefetch 1, one message in hand: it waits for a free place
    assert room.waiting.wait(JOIN_SECONDS)
    consumer.ack(first)
    waiting.join(JOIN_SECONDS)
    assert waited == [None]  # back from its wait; the next call fetches
    second = next(consumer)
    assert second is not None
    assert second.args == (2,)


def test_the_delay_queue_is_polled_as_dramatiq_polls_it(
    brokers: tuple[WakingRedisBroker, WakingRedisBroker],
) -> None:
    worker_broker, _ = brokers
    consumer = worker_broker.consume(dq_name(QUEUE_NAME), prefetch=1000, timeout=100)
    assert not isinstance(consumer, WakingConsumer)
    assert not worker_broker._wake_subscriber.running  # only a queue's consumer needs wake-ups


# -- what an enqueue publishes --------------------------------------------------------------------


def test_an_enqueue_publishes_one_wake_up_and_a_delayed_one_none(
    brokers: tuple[WakingRedisBroker, WakingRedisBroker],
) -> None:
    _, receiver_broker = brokers
    load_scripts(receiver_broker)
    published = Published(receiver_broker.client, wake_channel(receiver_broker.namespace))
    receiver_broker.enqueue(a_message(1))
    receiver_broker.enqueue(a_message(2), delay=60_000)  # a retry: it waits on the delay queue
    assert published.until_marker() == [QUEUE_NAME.encode()]


def test_a_group_publishes_one_wake_up_in_its_own_round_trip(
    brokers: tuple[WakingRedisBroker, WakingRedisBroker], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, receiver_broker = brokers
    load_scripts(receiver_broker)
    published = Published(receiver_broker.client, wake_channel(receiver_broker.namespace))
    sent: list[list[str]] = []
    make_pipeline = receiver_broker.client.pipeline

    def recorded_pipeline(**options: Any) -> Any:
        pipeline = make_pipeline(**options)
        execute = pipeline.execute

        def recorded_execute(*args: Any, **kwargs: Any) -> Any:
            sent.append([str(command[0][0]) for command in pipeline.command_stack])
            return execute(*args, **kwargs)

        monkeypatch.setattr(pipeline, "execute", recorded_execute)
        return pipeline

    monkeypatch.setattr(receiver_broker.client, "pipeline", recorded_pipeline)
    take = dramatiq.actor(broker=receiver_broker, queue_name=QUEUE_NAME, actor_name="take")(lambda n: None)
    enqueue_all(receiver_broker, [take.message(n) for n in range(20)])
    enqueue_calls(receiver_broker, [(take, (n,)) for n in range(5)])
    enqueue_all(receiver_broker, [])
    monkeypatch.undo()
    assert sent == [["EVALSHA"] * 20 + ["PUBLISH"], ["EVALSHA"] * 5 + ["PUBLISH"]]  # one round trip each
    assert published.until_marker() == [QUEUE_NAME.encode(), QUEUE_NAME.encode()]  # one per group
    assert receiver_broker.client.llen(f"{receiver_broker.namespace}:{QUEUE_NAME}") == 25


# -- wake-ups lost: polling -----------------------------------------------------------------------


class BreakableClient:
    """A client whose subscriptions fail while ``broken``, as when Redis goes away: a new one cannot
    connect, a live one raises on its next read."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.broken = False
        self.attempts = 0

    def pubsub(self) -> Any:
        self.attempts += 1
        if self.broken:
            raise redis.ConnectionError("Connection refused")
        return BreakablePubSub(self, self.client.pubsub())


class BreakablePubSub:
    def __init__(self, owner: BreakableClient, pubsub: Any) -> None:
        self.owner = owner
        self.pubsub = pubsub

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pubsub, name)

    def get_message(self, **options: Any) -> Any:
        if self.owner.broken:
            raise redis.ConnectionError("Connection reset by peer")
        return self.pubsub.get_message(**options)


def test_a_lost_subscription_falls_back_to_polling_and_comes_back(
    brokers: tuple[WakingRedisBroker, WakingRedisBroker], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker_broker, receiver_broker = brokers
    breakable = BreakableClient(worker_broker.client)
    signal = worker_broker.wake_signal
    subscriber = WakeSubscriber(breakable, wake_channel(worker_broker.namespace), signal)
    monkeypatch.setattr(worker_broker, "_wake_subscriber", subscriber)
    with capture_logs() as logs:
        consumer = long_polling_consumer(worker_broker)
        eventually(lambda: signal.live, "subscribed")

        breakable.broken = True
        eventually(lambda: not signal.live, "the lost subscription noticed")
        attempts = breakable.attempts
        eventually(lambda: breakable.attempts >= attempts + 3, "three more tries to subscribe")
        # no wake-up can arrive now: the consumer polls (every 25 ms at most) instead of waiting
        taker = Taker(worker_broker, consumer, monkeypatch).start()
        receiver_broker.enqueue(a_message(1))
        [first] = taker.join()
        assert first.args == (1,)
        consumer.ack(first)  # its place free: the consumer fetches again
        lost = [entry for entry in logs if entry["event"] == "queue_wake_ups_lost"]

        breakable.broken = False
        eventually(lambda: signal.live, "subscribed again")
        consumer.misses = 32
        taker = Taker(worker_broker, consumer, monkeypatch).start()
        receiver_broker.enqueue(a_message(2))
        assert [message.args for message in taker.join()] == [(2,)]  # woken again
    subscriber.close()
    assert not subscriber.running
    assert len(lost) == 1  # one line for the outage, however many tries
    assert lost[0]["log_level"] == "warning"
    assert [entry["event"] for entry in logs if entry["event"].startswith("queue_wake_ups")] == [
        "queue_wake_ups_lost",
        "queue_wake_ups_back",
    ]


class MutePubSub:
    """A subscription whose connection went silent (Redis gone without closing the socket): the
    subscribe is confirmed, then nothing ever arrives, not even the answer to a PING."""

    def __init__(self) -> None:
        self.pings = 0
        self.confirmed = False

    def subscribe(self, channel: str) -> None:
        return None

    def get_message(self, timeout: float) -> Any:
        if not self.confirmed:
            self.confirmed = True
            return {"type": "subscribe", "channel": b"mute:wake", "data": 1}
        time.sleep(timeout)
        return None

    def ping(self) -> None:
        self.pings += 1

    def close(self) -> None:
        return None


def test_a_silent_subscription_counts_as_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wake, "PING_SECONDS", 0.1)
    monkeypatch.setattr(wake, "SILENT_SECONDS", 0.3)
    mute = MutePubSub()

    class MuteClient:
        def pubsub(self) -> MutePubSub:
            return mute

    signal = WakeSignal()
    subscriber = WakeSubscriber(MuteClient(), "mute:wake", signal)
    with capture_logs() as logs:
        subscriber.start()
        # subscribed (the count moves to 1), then lost (to 2)
        eventually(lambda: signal.count >= 2 and not signal.live, "subscribed, then the silence noticed")
        subscriber.close()
    assert mute.pings >= 1  # it asked before it gave up on the connection
    assert [entry["event"] for entry in logs] == ["queue_wake_ups_lost"]


@pytest.mark.redis
def test_a_killed_subscription_connection_is_made_again(
    real_redis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection Redis itself closes (CLIENT KILL of this subscriber's connection only, as a
    Redis restart or a proxy would): subscribed again, and wake-ups arrive again. redis-py may
    reconnect by itself inside a read (then the new confirmation is all there is to see) or raise
    (then the subscriber logs the outage, once, and subscribes on a new connection)."""
    made: list[Any] = []
    pubsub = real_redis.pubsub

    def recorded_pubsub(**options: Any) -> Any:
        made.append(pubsub(**options))
        return made[-1]

    monkeypatch.setattr(real_redis, "pubsub", recorded_pubsub)
    signal = WakeSignal()
    channel = f"{make_settings().redis_namespace}:wake"
    subscriber = WakeSubscriber(real_redis, channel, signal)
    with capture_logs() as logs:
        subscriber.start()
        eventually(lambda: signal.live, "subscribed")
        host, port = made[-1].connection._sock.getsockname()[:2]
        [ours] = [c["id"] for c in real_redis.client_list(_type="pubsub") if c["addr"] == f"{host}:{port}"]
        count = signal.count
        real_redis.client_kill_filter(_id=ours)
        # lost (live false, the count moves) and confirmed again (live, the count moves again), or
        # confirmed again on the same PubSub (live all along, the count moves once)
        eventually(lambda: signal.count > count and signal.live, "subscribed again")
        count = signal.count
        real_redis.publish(channel, QUEUE_NAME)
        eventually(lambda: signal.count > count, "a wake-up through the new subscription")
        subscriber.close()
    assert [entry["event"] for entry in logs] in (
        [],
        ["queue_wake_ups_lost", "queue_wake_ups_back"],
    )


def test_a_redis_that_is_not_there_costs_one_warning_and_no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    counting = BreakableClient(client)
    signal = WakeSignal()
    subscriber = WakeSubscriber(counting, "nowhere:wake", signal)
    with capture_logs() as logs:
        subscriber.start()
        eventually(lambda: counting.attempts >= 4, "several tries to subscribe")
        assert subscriber.running  # it goes on trying
        assert not signal.live
        subscriber.close()
    assert not subscriber.running
    assert [entry["event"] for entry in logs] == ["queue_wake_ups_lost"]
    assert logs[0]["error_type"] == "ConnectionError"


def test_close_stops_the_subscriber(brokers: tuple[WakingRedisBroker, WakingRedisBroker]) -> None:
    worker_broker, _ = brokers
    worker_broker.consume(QUEUE_NAME, prefetch=1, timeout=100)
    eventually(lambda: worker_broker.wake_signal.live, "subscribed")
    worker_broker.close()
    assert not worker_broker._wake_subscriber.running
    assert not worker_broker.wake_signal.live  # a consumer left over polls


# -- the signal -----------------------------------------------------------------------------------


def test_a_wake_up_between_the_fetch_and_the_wait_is_not_lost() -> None:
    signal = WakeSignal()
    seen = signal.count  # read before the fetch
    signal.wake()  # the enqueue's wake-up arrives while the consumer is still fetching
    assert signal.wait(seen, LONG_POLL_MS / 1000)  # returns at once: the count moved on


def test_a_change_of_subscription_wakes_the_waiting() -> None:
    signal = WakeSignal()
    seen = signal.count
    signal.set_live(True)
    assert signal.wait(seen, 0)
    assert signal.live
    seen = signal.count
    signal.set_live(True)  # subscribed again (redis-py reconnected): what was published meanwhile
    assert signal.wait(seen, 0)
    seen = signal.count
    signal.set_live(False)
    assert signal.wait(seen, 0)
    assert not signal.live
    seen = signal.count
    signal.set_live(False)  # another failed try to subscribe: the consumers poll already
    assert not signal.wait(seen, 0)


def test_a_broker_not_ours_takes_what_dispatch_sends(
    brokers: tuple[WakingRedisBroker, WakingRedisBroker],
) -> None:
    """dramatiq's own RedisBroker (say a dramatiq CLI beside us) reads the queue we write."""
    worker_broker, receiver_broker = brokers
    plain = RedisBroker(client=worker_broker.client, namespace=worker_broker.namespace)
    receiver_broker.enqueue(a_message(3))
    consumer = plain.consume(QUEUE_NAME, prefetch=1, timeout=10)
    message = next(message for message in consumer if message is not None)
    assert message.args == (3,)
