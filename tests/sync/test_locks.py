"""Each order lock lets one holder in and makes a second one give up with ``OrderLocked``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from worker.db.session import make_engine
from worker.infra.locks import (
    FileOrderLocks,
    OrderLocked,
    OrderLockFactory,
    PostgresOrderLocks,
    ProcessOrderLocks,
    RedisOrderLocks,
    lock_wait,
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


def _refused_at_once_inside_lock_wait_0(locks: OrderLockFactory) -> None:
    """Inside ``lock_wait(0)`` (every actor) a held order is refused without waiting, although the
    factory's own wait is an hour: a wait would hang this test, never pass it."""
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with locks("shop", "1"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(5)
    try:
        with pytest.raises(OrderLocked), lock_wait(0), locks("shop", "1"):
            pass
        with lock_wait(0), locks("shop", "2"):  # a free order is taken as before
            pass
    finally:
        release.set()
        thread.join(5)
    with lock_wait(0), locks("shop", "1"):
        pass


HOUR = 3600.0


def test_lock_wait_0_process_lock() -> None:
    _refused_at_once_inside_lock_wait_0(ProcessOrderLocks(wait=HOUR))


def test_lock_wait_0_file_lock(tmp_path: Path) -> None:
    _refused_at_once_inside_lock_wait_0(FileOrderLocks(tmp_path / "locks", wait=HOUR))


def test_lock_wait_0_redis_lock(redis_client: Any) -> None:
    _refused_at_once_inside_lock_wait_0(RedisOrderLocks(redis_client, wait=HOUR))


@pytest.mark.postgres
def test_lock_wait_0_postgres_advisory_lock(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        _refused_at_once_inside_lock_wait_0(PostgresOrderLocks(engine, wait=HOUR))
    finally:
        engine.dispose()


def test_lock_wait_only_shortens_a_wait() -> None:
    """``lock_wait`` bounds the factory's wait; it never makes a short one longer."""
    locks = ProcessOrderLocks(wait=0)
    with locks("shop", "1"), pytest.raises(OrderLocked), lock_wait(HOUR), locks("shop", "1"):
        pass
