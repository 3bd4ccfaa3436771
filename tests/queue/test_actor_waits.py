"""The waits that spend no retry: a locked order, the database or Redis away; and the retry policy.

A locked order is put back on the queue instead of holding a worker thread; an outage is retried
every few seconds, uncounted for an hour, with one log line per retry. On the in-process broker,
fakeredis and a real Redis (``CI=true``); the delays are shortened by ``Waits``, and the outage's
hour is crossed with a settable clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
import sqlalchemy as sa
from dramatiq.common import compute_backoff
from redis import exceptions as redis_errors
from structlog.testing import capture_logs

from tests.queue.fakes import RecordingHandlers, make_settings
from worker.errors import TransientError
from worker.infra.locks import LOCK_TTL_SECONDS, OrderLocked, ProcessOrderLocks
from worker.queue.actors import (
    EVENT_OPTIONS,
    FULFILMENT_OPTIONS,
    LOCK_RETRY_MS,
    MAX_LOCK_WAITS,
    MAX_OUTAGE_MS,
    OUTAGE_RETRY_MS,
    SECOND,
    Actors,
    Waits,
    _with_waits,
    declare_actors,
    outage_service,
)
from worker.queue.broker import make_broker, start_worker
from worker.queue.middleware import LockedRetry, OutageRetry

SHORT = Waits(account_retry_ms=20, lock_retry_ms=(5, 20), outage_retry_ms=(5, 20))
FAST = {"min_backoff": 5, "max_backoff": 20}
HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["in-process", "fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
def broker(request: pytest.FixtureRequest) -> Iterator[dramatiq.Broker]:
    client: Any = None
    if request.param == "fakeredis":
        import fakeredis

        client = fakeredis.FakeRedis()
    elif request.param == "redis":
        client = request.getfixturevalue("real_redis")
    broker = make_broker(make_settings(), redis_client=client)
    yield broker
    broker.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def actors(broker: dramatiq.Broker, handlers: RecordingHandlers, clock: Clock) -> Actors:
    return declare_actors(
        broker,
        handlers,
        waits=Waits(
            account_retry_ms=SHORT.account_retry_ms,
            lock_retry_ms=SHORT.lock_retry_ms,
            outage_retry_ms=SHORT.outage_retry_ms,
            clock=clock,
        ),
    )


def start(broker: dramatiq.Broker, threads: int) -> dramatiq.Worker:
    return start_worker(broker, threads=threads, worker_timeout_ms=50)


# -- a locked order ---------------------------------------------------------------------------


def test_a_locked_order_holds_no_worker_thread_and_spends_no_retry(
    broker: dramatiq.Broker, actors: Actors, handlers: RecordingHandlers
) -> None:
    """One worker thread; order A is locked elsewhere (its lock would wait an hour). B, sent after
    A, is done while A is still locked: A's message went back on the queue instead of waiting.
    Once A's lock is free, A is done too, although it was put back more often than max_retries."""
    locks = ProcessOrderLocks(wait=HOUR)
    b_done, a_done = threading.Event(), threading.Event()

    def push(source: str, shop_order_id: str) -> None:
        with locks(source, shop_order_id):
            (a_done if shop_order_id == "A" else b_done).set()

    handlers.behaviour["push_shop_order"] = push
    holder = locks("shop-nl", "A")
    holder.__enter__()  # another worker pushes A
    worker = start(broker, threads=1)
    try:
        actors.push_shop_order.send_with_options(args=("shop-nl", "A"), max_retries=0)
        actors.push_shop_order.send("shop-nl", "B")
        assert b_done.wait(30)
        # A was tried, found locked and put back more often than its max_retries (0) allows
        while len(handlers.calls_to("push_shop_order")) < 4:
            assert not a_done.is_set()
            threading.Event().wait(0.01)
        holder.__exit__(None, None, None)
        assert a_done.wait(30)
    finally:
        worker.stop()
    assert handlers.dead_letters == []


def test_a_message_locked_past_its_allowance_spends_retries(
    broker: dramatiq.Broker, actors: Actors, handlers: RecordingHandlers
) -> None:
    def locked(source: str, shop_order_id: str) -> None:
        raise OrderLocked(f"order {source}/{shop_order_id} is locked by another worker")

    handlers.behaviour["push_shop_order"] = locked
    worker = start(broker, threads=2)
    try:
        actors.push_shop_order.send_with_options(
            args=("shop-nl", "7"), max_retries=1, max_lock_waits=3, **FAST
        )
        assert handlers.done.wait(30)
    finally:
        worker.stop()
    # three free waits, then the try that found it locked once more (counted), and one retry
    assert len(handlers.calls_to("push_shop_order")) == 5
    [(actor, args, _, reason)] = handlers.dead_letters
    assert (actor, args) == ("push_shop_order", ["shop-nl", "7"])
    assert "locked" in reason


def test_the_lock_waits_outlast_any_holder() -> None:
    """A push holds its order at most its actor's time limit; a killed worker's lease runs out
    within LOCK_TTL_SECONDS. The free waits, at their shortest, last longer than both."""
    shortest_ms = MAX_LOCK_WAITS * LOCK_RETRY_MS[0]
    assert shortest_ms > EVENT_OPTIONS.time_limit + LOCK_TTL_SECONDS * SECOND
    assert shortest_ms > FULFILMENT_OPTIONS.time_limit + LOCK_TTL_SECONDS * SECOND
    assert 1 * SECOND <= LOCK_RETRY_MS[0] < LOCK_RETRY_MS[1] <= 3 * SECOND


# -- the database or Redis away ---------------------------------------------------------------


def database_refused() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def test_an_outage_is_retried_without_spending_retries_with_one_line_each(
    broker: dramatiq.Broker, actors: Actors, handlers: RecordingHandlers
) -> None:
    """More outage failures than max_retries (0), of the database and of Redis: the message still
    goes through, with one log line per retry that names the service and never the error's text."""
    failures: list[Exception] = [
        database_refused(),
        sa.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
        redis_errors.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        redis_errors.TimeoutError("Timeout reading from socket"),
    ]
    succeeded = threading.Event()

    def flaky(inbox_id: int) -> None:
        if failures:
            raise failures.pop(0)
        succeeded.set()

    handlers.behaviour["process_shop_event"] = flaky
    with capture_logs() as logs:
        worker = start(broker, threads=2)
        try:
            actors.process_shop_event.send_with_options(args=(11,), max_retries=0)
            assert succeeded.wait(30)
        finally:
            worker.stop()
    assert handlers.dead_letters == []
    assert len(handlers.calls_to("process_shop_event")) == 5
    lines = [entry for entry in logs if entry["event"] == "retrying_after_outage"]
    assert [line["service"] for line in lines] == ["database", "database", "redis", "redis"]
    assert [line["tries"] for line in lines] == [1, 2, 3, 4]
    for line in lines:
        assert SHORT.outage_retry_ms[0] <= line["delay_ms"] <= SHORT.outage_retry_ms[1]
        assert "refused" not in str(line)
        assert "6379" not in str(line)


def test_an_outage_longer_than_an_hour_spends_retries(
    broker: dramatiq.Broker, actors: Actors, handlers: RecordingHandlers, clock: Clock
) -> None:
    calls = 0

    def down(inbox_id: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            clock.now += MAX_OUTAGE_MS / SECOND + 1  # the outage is now older than we wait for
        raise database_refused()

    handlers.behaviour["process_shop_event"] = down
    worker = start(broker, threads=2)
    try:
        actors.process_shop_event.send_with_options(args=(12,), max_retries=1, **FAST)
        assert handlers.done.wait(30)
    finally:
        worker.stop()
    # a free wait, then two counted failures: the first try and one retry past the hour
    assert calls == 3
    [(actor, args, _, reason)] = handlers.dead_letters
    assert (actor, args) == ("inbox_event", [12])
    assert reason


@pytest.mark.parametrize(
    ("error", "service"),
    [
        (database_refused(), "database"),
        (sa.exc.InterfaceError("SELECT 1", {}, Exception("connection already closed")), "database"),
        (sa.exc.TimeoutError("QueuePool limit reached"), "database"),
        (sa.exc.DisconnectionError("gone"), "database"),
        (sa.exc.DBAPIError("SELECT 1", {}, Exception("x"), connection_invalidated=True), "database"),
        (redis_errors.ConnectionError("refused"), "redis"),
        (redis_errors.TimeoutError("timeout"), "redis"),
        (redis_errors.BusyLoadingError("loading"), "redis"),
        (dramatiq.errors.ConnectionClosed(Exception("closed")), "redis"),
        (sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key")), None),
        (sa.exc.ProgrammingError("SELECT", {}, Exception("undefined table")), None),
        (redis_errors.ResponseError("WRONGTYPE"), None),
        (TransientError("502"), None),
        (ValueError("bad"), None),
    ],
)
def test_what_counts_as_an_outage(error: BaseException, service: str | None) -> None:
    assert outage_service(error) == service


# -- the production delays, outside any message ------------------------------------------------


def test_the_production_delays() -> None:
    def locked() -> None:
        raise OrderLocked("order shop/1 is locked by another worker")

    def refused() -> None:
        raise database_refused()

    with pytest.raises(LockedRetry) as lock_retry:
        _with_waits(locked, EVENT_OPTIONS, Waits())()
    assert 1 * SECOND <= (lock_retry.value.delay or 0) <= 3 * SECOND
    with pytest.raises(OutageRetry) as outage_retry:
        _with_waits(refused, EVENT_OPTIONS, Waits())()
    assert 2 * SECOND <= (outage_retry.value.delay or 0) <= 5 * SECOND
    assert OUTAGE_RETRY_MS[1] <= 5 * SECOND
    assert MAX_OUTAGE_MS == 3600 * SECOND


# -- the retry policy of an event or a push ----------------------------------------------------


def backoffs(retries: int, *, low: bool) -> list[float]:
    """Each backoff of dramatiq's jittered policy at its shortest (``low``) or longest, in seconds:
    ``min_backoff * 2**n`` times 1-2, or, past ``max_backoff``, the cap times 0.5-1."""
    cap = EVENT_OPTIONS.max_backoff
    waits = []
    for attempt in range(retries):
        base = EVENT_OPTIONS.min_backoff * 2**attempt
        if 2 * base <= cap:
            shortest, longest = base, 2 * base
        else:
            shortest, longest = min(base, cap / 2), cap
        waits.append((shortest if low else longest) / SECOND)
    return waits


def test_after_a_fault_every_message_is_tried_again_within_30_s() -> None:
    assert EVENT_OPTIONS.max_backoff <= 30 * SECOND
    for retries in (0, 3, 10, EVENT_OPTIONS.max_retries):
        for _ in range(50):
            _, delay = compute_backoff(
                retries, factor=EVENT_OPTIONS.min_backoff, max_backoff=EVENT_OPTIONS.max_backoff
            )
            assert delay <= 30 * SECOND


def test_a_message_keeps_trying_about_an_hour_as_before() -> None:
    """Today's policy: 10 retries, 5 s doubling to a 15-minute cap: 33 to 66 minutes of waiting.
    Ours waits about as long, in shorter steps."""
    shortest = sum(backoffs(EVENT_OPTIONS.max_retries, low=True)) / 60
    longest = sum(backoffs(EVENT_OPTIONS.max_retries, low=False)) / 60
    assert 30 <= shortest <= 45
    assert 60 <= longest <= 80
