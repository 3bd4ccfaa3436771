"""The inbox writer: one thread that stores webhooks in groups, one commit per group.

Requests hand their verified webhook to :meth:`InboxWriter.submit_async` (the receiver, on its
event loop) or :meth:`InboxWriter.submit` (any thread) and await the returned future; the thread
takes everything pending, stores it with one statement and one commit
(:func:`worker.receiver.batch.store_batch`), enqueues, and resolves each future with its answer:
the event loop's futures with one call into the loop for the whole group, not a cross-thread
hand-off per webhook (their locks and wake-ups were a fifth of a webhook's CPU, ``make bench``).
While one group commits, the next gathers, so the commit rate, not the request rate, bounds the
database work: no thread per request, no requests queueing for SQLite's file lock.

A future cancelled before its group was taken (its request ran out of time) is dropped unwritten;
one already taken is written anyway (a later retry of it is a duplicate: harmless). The thread
starts with the first webhook (no lifespan needed), ends after ``IDLE_SECONDS`` without one (an
app that was never shut down leaves no thread behind), and :meth:`InboxWriter.stop` drains and
ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from worker.logging import WRITER, get_logger
from worker.receiver.answers import Answer
from worker.receiver.batch import Pending

log = get_logger(__name__)

MAX_BATCH = 500  # webhooks in one statement; a bound on a burst's statement size, rarely reached
IDLE_SECONDS = 30.0  # the thread ends after this long without a webhook; the next one starts it again

StoreBatch = Callable[[Sequence[Pending]], list[Answer]]
_Outcome = Answer | BaseException
_Settled = list[tuple["asyncio.Future[Answer]", _Outcome]]


class _Waiter:
    """Who waits for one event's answer: a thread's future, or a future on an event loop."""

    __slots__ = ("done", "event", "future", "loop")

    def __init__(
        self,
        event: Pending,
        future: Future[Answer] | asyncio.Future[Answer],
        loop: asyncio.AbstractEventLoop | None,
        done: Callable[[], None] | None,
    ) -> None:
        self.event = event
        self.future = future
        self.loop = loop
        self.done = done

    def take(self) -> bool:
        """Whether the event is still wanted (False: its request gave up before the group formed)."""
        if self.loop is None:
            return self.future.set_running_or_notify_cancel()  # type: ignore[union-attr]
        # read from the writer's thread: a request that gives up just after this is written anyway
        return not self.future.cancelled()

    def settle(self, outcome: _Outcome, by_loop: dict[asyncio.AbstractEventLoop, _Settled]) -> None:
        if self.loop is not None:
            by_loop.setdefault(self.loop, []).append((self.future, outcome))  # type: ignore[arg-type]
        elif isinstance(outcome, BaseException):
            self.future.set_exception(outcome)
        else:
            self.future.set_result(outcome)


def _resolve(settled: _Settled) -> None:
    """On the event loop: each future's answer (one that gave up meanwhile stays cancelled)."""
    for future, outcome in settled:
        if future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class InboxWriter:
    """A single writer thread over ``store`` (``store_batch`` bound to an engine and a queue)."""

    def __init__(self, store: StoreBatch, *, max_batch: int = MAX_BATCH, name: str = "inbox-writer") -> None:
        self._store = store
        self._max_batch = max_batch
        self._name = name
        self._queue: queue.SimpleQueue[_Waiter | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, event: Pending) -> Future[Answer]:
        """Queue ``event`` for the next group; the future gives its answer once it is committed."""
        future: Future[Answer] = Future()
        self._put(_Waiter(event, future, None, None))
        return future

    def submit_async(
        self, event: Pending, *, done: Callable[[], None] | None = None
    ) -> asyncio.Future[Answer]:
        """On an event loop: as :meth:`submit`, with a future of that loop. ``done`` is called (in the
        writer's thread) once the writer is finished with the event: written, failed, or dropped
        because its future was cancelled before its group formed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._put(_Waiter(event, future, loop, done))
        return future

    def _put(self, waiter: _Waiter) -> None:
        with self._lock:  # with the thread's idle exit: an event is never left without a thread
            self._queue.put(waiter)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is pending, then end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                continue
            if first is None:
                return
            batch, stopping = self._gather(first)
            self._write(batch)
            if stopping:
                return

    def _gather(self, first: _Waiter) -> tuple[list[_Waiter], bool]:
        """``first`` and whatever else is pending (up to ``max_batch``); True when told to stop."""
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _write(self, batch: list[_Waiter]) -> None:
        live: list[_Waiter] = []
        for waiter in batch:
            if waiter.take():
                live.append(waiter)
            elif waiter.done is not None:
                waiter.done()
        if not live:
            return
        outcomes: Sequence[_Outcome]
        # the group's log lines (one per webhook) in one write at the end: see LineWriter.batched
        with WRITER.batched():
            try:
                outcomes = self._store([waiter.event for waiter in live])
            except Exception as error:  # a bug, not an outage (store_batch answers those)
                # this group fails, the next is written as usual
                log.error("inbox_writer_failed", size=len(live), error_type=type(error).__name__)
                outcomes = [error] * len(live)
        by_loop: dict[asyncio.AbstractEventLoop, _Settled] = {}
        for waiter, outcome in zip(live, outcomes, strict=True):
            waiter.settle(outcome, by_loop)
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is left to answer
                loop.call_soon_threadsafe(_resolve, settled)
        for waiter in live:
            if waiter.done is not None:
                waiter.done()
