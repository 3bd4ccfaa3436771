"""A bound on the receiver's threads on the database, so a flood on a slow database gets fast 503s.

FastAPI runs blocking work in anyio's worker threads. A webhook that waits past its deadline is
answered 503 and its thread is abandoned, not stopped: it keeps its database connection until the
database's own timeouts fire, and anyio has already given its token back. Under a flood on a
slow database those abandoned threads (and the requests queued behind them) grow without bound.
:class:`ThreadGate` counts every thread it started until that thread really ends, abandoned ones
included; a request that finds no free slot within ``ADMISSION_WAIT_SECONDS`` (or finds too many
others already waiting) gets :class:`Saturated` at once, which the receiver answers 503 with
``Retry-After``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio

T = TypeVar("T")

MAX_IN_FLIGHT = 32  # below anyio's 40 default tokens: the rest of the app keeps threads to run on
ADMISSION_WAIT_SECONDS = 0.5  # a burst on a healthy database waits this long for a slot
ADMISSION_POLL_SECONDS = 0.01  # a slot is freed by a worker thread, which cannot wake a task on any loop


class Saturated(Exception):
    """Every slot is taken (by threads that may be waiting on a sick database): answer 503 now."""


class _Slot:
    """One admission: started by its thread, or cancelled before the thread ran (never both)."""

    __slots__ = ("cancelled", "started")

    def __init__(self) -> None:
        self.started = False
        self.cancelled = False


class ThreadGate:
    """At most ``limit`` of this gate's worker threads at once, and at most ``limit`` requests
    waiting for one."""

    def __init__(
        self,
        limit: int = MAX_IN_FLIGHT,
        *,
        wait_seconds: float = ADMISSION_WAIT_SECONDS,
        max_waiting: int | None = None,
    ) -> None:
        self.limit = limit
        self.wait_seconds = wait_seconds
        self.max_waiting = limit if max_waiting is None else max_waiting
        self._lock = threading.Lock()
        self._running = 0
        self._waiting = 0

    @property
    def in_flight(self) -> int:
        """Threads started through the gate that have not ended yet (abandoned ones included)."""
        return self._running

    def _try_enter(self) -> bool:
        with self._lock:
            if self._running >= self.limit:
                return False
            self._running += 1
            return True

    def _leave(self) -> None:
        with self._lock:
            self._running -= 1

    async def _enter(self) -> None:
        if self._try_enter():
            return
        with self._lock:
            if self._waiting >= self.max_waiting:
                raise Saturated
            self._waiting += 1
        try:
            with anyio.move_on_after(self.wait_seconds):
                while not self._try_enter():
                    await anyio.sleep(ADMISSION_POLL_SECONDS)
                return
            raise Saturated
        finally:
            with self._lock:
                self._waiting -= 1

    async def run(self, seconds: float, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``func(*args, **kwargs)`` in a worker thread, given up after ``seconds`` (``TimeoutError``),
        or refused at once when the gate is full (:class:`Saturated`)."""
        slot = _Slot()

        def call() -> T:
            with self._lock:
                if slot.cancelled:  # given up before this thread got to run: the slot is back already
                    raise Saturated
                slot.started = True
            try:
                return func(*args, **kwargs)
            finally:
                self._leave()

        with anyio.fail_after(seconds):
            await self._enter()
            try:
                return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
            except BaseException:
                with self._lock:
                    if not slot.started:
                        slot.cancelled = True
                        self._running -= 1
                raise


async def bounded(seconds: float, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` in a worker thread, given up after ``seconds`` (``TimeoutError``).

    A thread cannot be stopped: the one given up on ends by itself once the database's own timeouts
    (connect, pool, statement) fire; the answer does not wait for it.
    """
    with anyio.fail_after(seconds):
        return await anyio.to_thread.run_sync(partial(func, *args, **kwargs), abandon_on_cancel=True)
