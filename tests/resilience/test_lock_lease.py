"""The Redis order lock is a lease: renewed while the holder works, free soon after it dies."""

from __future__ import annotations

import time
from typing import Any

import pytest

from worker.infra.locks import LOCK_TTL_SECONDS, OrderLocked, RedisOrderLocks


def test_the_lease_is_short() -> None:
    assert LOCK_TTL_SECONDS <= 15


def test_a_working_holder_keeps_its_lease_past_the_ttl(redis_client: Any) -> None:
    locks = RedisOrderLocks(redis_client, namespace="lease-test", ttl=0.6, wait=0.05)
    with locks("shop", "1"):
        time.sleep(1.5)  # well past the TTL: renewed meanwhile
        with pytest.raises(OrderLocked), locks("shop", "1"):
            pass
    with locks("shop", "1"):  # released on exit
        pass


def test_a_dead_holders_lease_runs_out(redis_client: Any) -> None:
    locks = RedisOrderLocks(redis_client, namespace="lease-test", ttl=0.6, wait=0.05)
    # a killed worker: its lock taken with the same lease, never renewed nor released
    redis_client.lock("lease-test:order-lock:shop:2", timeout=0.6, thread_local=False).acquire()
    with pytest.raises(OrderLocked), locks("shop", "2"):
        pass
    time.sleep(0.8)
    with locks("shop", "2"):
        pass
