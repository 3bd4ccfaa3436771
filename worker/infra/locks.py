"""Serialise the work on one shop order across threads, processes and machines.

A lock factory is called as ``order_lock(source, shop_order_id)`` and gives a context manager.
Three kinds, chosen by :func:`order_locks`:

- Redis (whenever Redis is used): redis-py's ``Lock`` (``SET NX PX`` with a random token, released
  by a Lua script only while the token is still ours) as a lease: ``LOCK_TTL_SECONDS`` long, renewed
  every third of that while the holder works, so a SIGKILLed worker's lock is free within 15 s.
- PostgreSQL without Redis: a session-level advisory lock on a dedicated connection. A
  ``SELECT ... FOR UPDATE`` row lock would have to live in the transaction that also writes the
  step records, and those must be committed *before* each Picqer call (that is what makes a retry
  resume safely), so the lock has to outlive commits; PostgreSQL drops it if the process dies.
- SQLite: a file lock (``flock``) beside the database file, so the threads of ``run`` and the
  operator's ``push`` / ``resync`` commands in other shells serialise too; an in-memory database
  falls back to a lock in this process.

How long a second holder waits is the factory's ``wait`` (``LOCK_WAIT_SECONDS``: the foreground
commands, where a person waits anyway), unless the caller says otherwise with :func:`lock_wait`.
The actors say ``lock_wait(0)``: a message for a locked order is put back on the queue with a short
delay (``worker.queue.actors``) instead of holding a worker thread while another one finishes.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from worker.db.session import is_postgres
from worker.errors import RetriableError
from worker.infra.redis import DEFAULT_NAMESPACE
from worker.logging import get_logger

log = get_logger(__name__)

OrderLockFactory = Callable[[str, str], AbstractContextManager[None]]

# how long a foreground command waits for an order another process holds (actors wait not at all)
LOCK_WAIT_SECONDS = 60.0
# Redis: a lease, renewed every third of it while the holder works; a killed worker's lock is free
# within this long
LOCK_TTL_SECONDS = 15.0
PROCESS_LOCK_STRIPES = 256  # bounded memory: orders share a lock only when their hashes collide

# the wait :func:`lock_wait` sets for this thread (contextvars: each worker thread has its own)
_WAIT_OVERRIDE: ContextVar[float | None] = ContextVar("order_lock_wait", default=None)

# how the Redis lease's renewer waits between renewals: ``Event.wait(stop, seconds)``, True once
# stopped; tests pass a settable clock here
RenewalWait = Callable[[threading.Event, float], bool]


class OrderLocked(RetriableError):
    """Another worker holds this order (for longer than we wait); try again later."""


@contextmanager
def lock_wait(seconds: float) -> Iterator[None]:
    """Within the block, an order lock taken by this thread waits at most ``seconds`` (0: not at
    all) for another holder, whatever its factory's own ``wait``; then ``OrderLocked``."""
    token = _WAIT_OVERRIDE.set(max(0.0, seconds))
    try:
        yield
    finally:
        _WAIT_OVERRIDE.reset(token)


def _wait(default: float) -> float:
    override = _WAIT_OVERRIDE.get()
    return default if override is None else min(default, override)


def _lock_name(source: str, shop_order_id: str, namespace: str = DEFAULT_NAMESPACE) -> str:
    # the default namespace for the hashed (PostgreSQL, file, process) locks: their keys must not
    # change between versions, or two versions running side by side would not exclude each other
    return f"{namespace}:order-lock:{source}:{shop_order_id}"


class ProcessOrderLocks:
    """Striped ``threading.Lock``s: one process, any number of threads."""

    def __init__(self, *, wait: float = LOCK_WAIT_SECONDS, stripes: int = PROCESS_LOCK_STRIPES) -> None:
        self._wait = wait
        self._locks = [threading.Lock() for _ in range(stripes)]

    @contextmanager
    def __call__(self, source: str, shop_order_id: str) -> Iterator[None]:
        digest = hashlib.sha256(_lock_name(source, shop_order_id).encode()).digest()
        lock = self._locks[int.from_bytes(digest[:4], "big") % len(self._locks)]
        if not lock.acquire(timeout=_wait(self._wait)):
            raise OrderLocked(f"order {source}/{shop_order_id} is locked by another thread")
        try:
            yield
        finally:
            lock.release()


# one set per process: every SyncContext in this process (one per thread, say) must share it
_PROCESS_LOCKS = ProcessOrderLocks()


def process_order_locks() -> ProcessOrderLocks:
    return _PROCESS_LOCKS


class FileOrderLocks:
    """Striped ``flock`` files: every process and thread on this machine sharing one SQLite file.

    ``flock`` conflicts between separate opens of a file even inside one process, so threads are
    covered too; the kernel drops the lock when a process dies.
    """

    def __init__(
        self, directory: Path, *, wait: float = LOCK_WAIT_SECONDS, stripes: int = PROCESS_LOCK_STRIPES
    ) -> None:
        self._directory = directory
        self._wait = wait
        self._stripes = stripes
        directory.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def __call__(self, source: str, shop_order_id: str) -> Iterator[None]:
        digest = hashlib.sha256(_lock_name(source, shop_order_id).encode()).digest()
        path = self._directory / f"order-{int.from_bytes(digest[:4], 'big') % self._stripes:03d}.lock"
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + _wait(self._wait)
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise OrderLocked(
                            f"order {source}/{shop_order_id} is locked by another process"
                        ) from None
                    time.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)


def sqlite_lock_directory(engine: Engine) -> Path | None:
    """``<database file>.locks`` for a file database, None for an in-memory one."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).resolve().with_name(Path(database).name + ".locks")


class RedisOrderLocks:
    """A mutex per order in Redis, shared by every worker process on every machine."""

    def __init__(
        self,
        redis: Any,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        ttl: float = LOCK_TTL_SECONDS,
        wait: float = LOCK_WAIT_SECONDS,
        renewal_wait: RenewalWait = threading.Event.wait,
        prefix: str = "order-lock",
    ) -> None:
        self._redis = redis
        self._namespace = namespace
        self._prefix = prefix
        self._ttl = ttl
        self._wait = wait
        self._renewal_wait = renewal_wait

    def key(self, source: str, shop_order_id: str) -> str:
        return f"{self._namespace}:{self._prefix}:{source}:{shop_order_id}"

    @contextmanager
    def __call__(self, source: str, shop_order_id: str) -> Iterator[None]:
        from redis.exceptions import LockError

        # thread_local=False: the token is checked against Redis, not against the thread
        lock = self._redis.lock(self.key(source, shop_order_id), timeout=self._ttl, thread_local=False)
        if not lock.acquire(blocking_timeout=_wait(self._wait)):
            raise OrderLocked(f"order {source}/{shop_order_id} is locked by another worker")
        stop = threading.Event()
        renewer = threading.Thread(
            target=self._renew, args=(lock, stop, source, shop_order_id), name="order-lock-lease", daemon=True
        )
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            try:
                lock.release()
            except LockError:
                # the lock expired under us and may be someone else's now: never delete theirs
                log.warning("order_lock_expired", source=source, shop_order_id=shop_order_id)

    def _renew(self, lock: Any, stop: threading.Event, source: str, shop_order_id: str) -> None:
        """Extend the lease every third of its time-to-live until ``stop``; a dead process stops
        renewing, and its lease runs out within ``ttl``."""
        while not self._renewal_wait(stop, self._ttl / 3):
            try:
                lock.extend(self._ttl, replace_ttl=True)
            except Exception as error:  # lost (expired and taken) or Redis away: the release says so
                log.warning(
                    "order_lock_renew_failed",
                    source=source,
                    shop_order_id=shop_order_id,
                    error_type=type(error).__name__,
                )
                return


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout that ran out


class PostgresOrderLocks:
    """A session-level advisory lock per order, held on its own connection."""

    def __init__(self, engine: Engine, *, wait: float = LOCK_WAIT_SECONDS) -> None:
        self._engine = engine
        self._wait = wait

    @staticmethod
    def key(source: str, shop_order_id: str) -> int:
        digest = hashlib.sha256(_lock_name(source, shop_order_id).encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    @contextmanager
    def __call__(self, source: str, shop_order_id: str) -> Iterator[None]:
        key = self.key(source, shop_order_id)
        wait_ms = int(_wait(self._wait) * 1000)
        locked = OrderLocked(f"order {source}/{shop_order_id} is locked by another worker")
        with self._engine.connect() as connection:
            if wait_ms <= 0:
                # not waiting at all (a lock_timeout of 0 would mean waiting for ever)
                taken = connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
                if not taken.scalar():
                    connection.rollback()
                    raise locked
            else:
                # LOCAL: the timeout ends with this transaction, so the pooled connection keeps no trace
                connection.execute(sa.text(f"SET LOCAL lock_timeout = '{wait_ms}ms'"))
                try:
                    connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
                except sa.exc.OperationalError as error:
                    if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                        raise  # the database is away, not the lock taken: the caller's outage retry
                    raise locked from error
            connection.commit()  # the lock is the session's, not the transaction's
            try:
                yield
            finally:
                try:
                    connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()
                except sa.exc.DBAPIError:
                    # a broken connection has lost the lock already; never return it to the pool
                    connection.invalidate()


class NamedLocks:
    """One ``threading.Lock`` per name (never striped): one process, any number of threads."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def __call__(self, kind: str, name: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(f"{kind}:{name}", threading.Lock())
        if not lock.acquire(blocking=False):
            raise OrderLocked(f"{kind} {name} is running in another thread")
        try:
            yield
        finally:
            lock.release()


def running_job_locks(redis: Any = None, *, namespace: str = DEFAULT_NAMESPACE) -> OrderLockFactory:
    """A lock per running job (``("poll", source)``, ``("reconcile", "picqer")``), never waited for:
    ``OrderLocked`` at once when another worker runs it. With Redis a renewed lease shared by every
    worker process (a killed holder frees it within the lease); without Redis (``run``, one process)
    a lock per name in this process."""
    if redis is not None:
        return RedisOrderLocks(redis, namespace=namespace, wait=0.0, prefix="running")
    return NamedLocks()


def order_locks(engine: Engine, redis: Any = None, *, namespace: str = DEFAULT_NAMESPACE) -> OrderLockFactory:
    """Redis's lock (its keys under ``namespace``) when there is a Redis, else PostgreSQL's, else a
    file lock beside the SQLite file; a lock in this process for an in-memory database."""
    if redis is not None:
        return RedisOrderLocks(redis, namespace=namespace)
    if is_postgres(engine):
        return PostgresOrderLocks(engine)
    if (lock_directory := sqlite_lock_directory(engine)) is not None:
        return FileOrderLocks(lock_directory)
    return process_order_locks()
