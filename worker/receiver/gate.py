"""A bound on the receiver's threads on the database, so a flood on a slow database gets fast 503s.

FastAPI runs blocking work in anyio's worker threads. A webhook that waits past its deadline is
answered 503 and its thread is abandoned, not stopped: it keeps its database connection until the
database's own timeouts fire, and anyio has already given its token back. Under a flood on a
slow database those abandoned threads (and the requests queued behind them) grow without bound.
:class:`ThreadGate` counts every thread it started until that thread really ends, abandoned ones
included; a request that finds no free slot within ``ADMISSION_WAIT_SECONDS`` (or finds too many
others already waiting) gets :class:`Saturated` at once, which the receiver answers 503 with
``Retry-After``.

Webhooks take a slot without a thread of their own: :meth:`ThreadGate.enter` admits one and
:meth:`ThreadGate.leave` gives the slot back when the inbox writer is done with it (committed,
failed, or dropped before it was written), whenever its answer left.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio

T = TypeVar("T")

MAX_IN_FLIGHT = 32  # below anyio's 40 default tokens: the rest of the app keeps threads to run on
ADMISSION_WAIT_SECONDS = 0.5  # a burst on a healthy database waits this long for a slot
# a freed slot wakes the longest waiter at once (on its own loop); this poll only covers a wake-up
# that went to a waiter which gave up at the same moment
ADMISSION_POLL_SECONDS = 0.01


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
        on_enter: Callable[[int], None] | None = None,
    ) -> None:
        """``on_enter(in_flight)`` is told the count after each admission (``run``'s ingest
        pressure, :mod:`worker.infra.ingest`)."""
        self.limit = limit
        self.on_enter = on_enter
        self.wait_seconds = wait_seconds
        self.max_waiting = limit if max_waiting is None else max_waiting
        self._lock = threading.Lock()
        self._running = 0
        self._waiting = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    @property
    def in_flight(self) -> int:
        """Threads started through the gate that have not ended yet (abandoned ones included)."""
        return self._running

    def _try_enter(self) -> bool:
        with self._lock:
            if self._running >= self.limit:
                return False
            self._running += 1
            running = self._running
        if self.on_enter is not None:
            self.on_enter(running)
        return True

    def leave(self) -> None:
        """Give a slot back (from any thread) and wake the longest waiter, on its own loop."""
        with self._lock:
            self._running -= 1
            waiter = self._waiters.popleft() if self._waiters else None
        if waiter is not None:
            loop, woken = waiter
            # RuntimeError: its loop has closed, nobody is waiting there any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_wake, woken)

    async def enter(self) -> None:
        """Take a slot: at once when one is free, else wait up to ``wait_seconds`` for one;
        :class:`Saturated` when none came, or when ``max_waiting`` others are waiting already."""
        if self._try_enter():
            return
        with self._lock:
            if self._waiting >= self.max_waiting:
                raise Saturated
            self._waiting += 1
        loop = asyncio.get_running_loop()
        entry: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        try:
            with anyio.move_on_after(self.wait_seconds):
                while True:
                    entry = (loop, loop.create_future())
                    with self._lock:
                        self._waiters.append(entry)
                    if self._try_enter():
                        return
                    with anyio.move_on_after(ADMISSION_POLL_SECONDS):
                        await entry[1]
                    self._forget(entry)
                    if self._try_enter():
                        return
            raise Saturated
        finally:
            with self._lock:
                self._waiting -= 1
            if entry is not None:
                self._forget(entry)

    def _forget(self, entry: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]) -> None:
        # ValueError: woken already, leave() took it off
        with self._lock, contextlib.suppress(ValueError):
            self._waiters.remove(entry)

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
                self.leave()

        with anyio.fail_after(seconds):
            await self.enter()
            try:
                return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
            except BaseException:
                with self._lock:
                    if not slot.started:
                        slot.cancelled = True
                        self._running -= 1
                raise


def _wake(woken: asyncio.Future[None]) -> None:
    if not woken.done():
        woken.set_result(None)


async def bounded(seconds: float, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` in a worker thread, given up after ``seconds`` (``TimeoutError``).

    A thread cannot be stopped: the one given up on ends by itself once the database's own timeouts
    (connect, pool, statement) fire; the answer does not wait for it.
    """
    with anyio.fail_after(seconds):
        return await anyio.to_thread.run_sync(partial(func, *args, **kwargs), abandon_on_cancel=True)
