"""Each order lock lets one holder in and makes a second one give up with ``OrderLocked``."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from worker.db.session import make_engine
from worker.infra.locks import (
    OrderLocked,
    OrderLockFactory,
    PostgresOrderLocks,
    ProcessOrderLocks,
    RedisOrderLocks,
)


def _second_holder_is_refused(locks: OrderLockFactory) -> None:
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with locks("shop", "1"):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(5)
    try:
        with pytest.raises(OrderLocked), locks("shop", "1"):
            pass
        with locks("shop", "2"):  # another order is not blocked
            pass
    finally:
        release.set()
        thread.join(5)
    with locks("shop", "1"):  # released: free again
        pass


def test_process_lock() -> None:
    _second_holder_is_refused(ProcessOrderLocks(wait=0.1))


def test_redis_lock(redis_client: Any) -> None:
    _second_holder_is_refused(RedisOrderLocks(redis_client, wait=0.1))


@pytest.mark.postgres
def test_postgres_advisory_lock(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        _second_holder_is_refused(PostgresOrderLocks(engine, wait=0.2))
    finally:
        engine.dispose()
