"""The Redis order lock is a lease: renewed while the holder works, free soon after it dies.

Time is settable here, never slept: the renewer's clock is a :class:`ManualTicker` the test advances
one renewal at a time, and Redis's own clock (which ends a lease) is fakeredis's, set by the test.
A real Redis (``CI=true``) checks what needs no clock: the lease each acquisition and renewal sets.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import fakeredis
import pytest

from worker.infra.locks import LOCK_TTL_SECONDS, OrderLocked, RedisOrderLocks, lock_wait

TTL = LOCK_TTL_SECONDS


class ManualTicker:
    """The renewer's wait between renewals, advanced by the test: ``tick()`` lets one renewal
    happen and returns once the renewer is waiting again (so the renewal is done)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._ticks = 0
        self._waits = 0  # how often the renewer came to wait

    def __call__(self, stop: threading.Event, seconds: float) -> bool:
        with self._condition:
            self._waits += 1
            self._condition.notify_all()
            # stop is an Event of its own: look at it between short waits on our condition
            while not self._ticks and not stop.is_set():
                self._condition.wait(0.01)
            if stop.is_set():
                return True
            self._ticks -= 1
            return False

    def tick(self) -> None:
        with self._condition:
            target = self._waits + 1
            self._ticks += 1
            self._condition.notify_all()
            assert self._condition.wait_for(lambda: self._waits >= target, timeout=10), "renewer stuck"

    def wait_until_waiting(self) -> None:
        with self._condition:
            assert self._condition.wait_for(lambda: self._waits >= 1, timeout=10), "renewer not started"


class RedisClock:
    """fakeredis's clock (it reads ``time.time()`` once per command to expire keys), set by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, start: float = 1_000_000.0) -> None:
        import fakeredis._socket._base as fake_socket

        self.now = start
        monkeypatch.setattr(fake_socket, "time", SimpleNamespace(time=lambda: self.now))

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clocked_redis(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, RedisClock]:
    clock = RedisClock(monkeypatch)
    return fakeredis.FakeRedis(), clock


def test_the_lease_is_short() -> None:
    assert LOCK_TTL_SECONDS <= 15


def test_each_renewal_restores_the_full_lease(redis_client: Any) -> None:
    ticker = ManualTicker()
    locks = RedisOrderLocks(redis_client, namespace="lease-test", ttl=TTL, renewal_wait=ticker)
    key = locks.key("shop", "1")
    with locks("shop", "1"):
        ticker.wait_until_waiting()
        assert 0 < redis_client.pttl(key) <= TTL * 1000
        redis_client.pexpire(key, 500)  # as if most of the lease had passed
        ticker.tick()
        assert redis_client.pttl(key) > (TTL - 1) * 1000  # renewed to the full lease
        ticker.tick()
        assert redis_client.pttl(key) > (TTL - 1) * 1000
    assert redis_client.exists(key) == 0  # released on exit


def test_a_working_holder_keeps_its_lease_past_the_ttl(
    clocked_redis: tuple[Any, RedisClock],
) -> None:
    redis, clock = clocked_redis
    ticker = ManualTicker()
    locks = RedisOrderLocks(redis, namespace="lease-test", ttl=TTL, renewal_wait=ticker)
    other = RedisOrderLocks(redis, namespace="lease-test", ttl=TTL, wait=0)
    with locks("shop", "1"):
        ticker.wait_until_waiting()
        for _ in range(6):  # two full leases, renewed every third of one
            clock.advance(TTL / 3)
            ticker.tick()
        with pytest.raises(OrderLocked), other("shop", "1"):
            pass
    with other("shop", "1"):  # released on exit
        pass


def test_a_killed_holders_lease_runs_out_within_the_ttl(
    clocked_redis: tuple[Any, RedisClock],
) -> None:
    redis, clock = clocked_redis
    ticker = ManualTicker()
    killed = RedisOrderLocks(redis, namespace="lease-test", ttl=TTL, renewal_wait=ticker)
    other = RedisOrderLocks(redis, namespace="lease-test", ttl=TTL, wait=0)
    held = killed("shop", "2")
    held.__enter__()  # then SIGKILLed: never renewed (the ticker never ticks), never released
    ticker.wait_until_waiting()
    clock.advance(TTL - 0.5)
    with pytest.raises(OrderLocked), other("shop", "2"):
        pass
    clock.advance(1.0)  # the lease is over: the order is free for the next worker
    with other("shop", "2"):
        pass
    held.__exit__(None, None, None)  # the test's own clean-up: a killed process never gets here


def test_a_lease_lost_under_its_holder_is_not_released_for_the_new_owner(
    clocked_redis: tuple[Any, RedisClock],
) -> None:
    redis, clock = clocked_redis
    ticker = ManualTicker()
    slow = RedisOrderLocks(redis, namespace="lease-test", ttl=TTL, renewal_wait=ticker)
    other = RedisOrderLocks(redis, namespace="lease-test", ttl=TTL, wait=0)
    with slow("shop", "3"):
        ticker.wait_until_waiting()
        clock.advance(TTL + 1)  # renewals missed (a frozen process): the lease ran out
        new_owner = other("shop", "3")
        new_owner.__enter__()
    # the slow holder's exit must not have freed the new owner's lock
    with pytest.raises(OrderLocked), lock_wait(0), other("shop", "3"):
        pass
    new_owner.__exit__(None, None, None)
