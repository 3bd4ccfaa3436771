"""The inbox writer: one thread that stores webhooks in groups, one commit per group.

Requests hand their verified webhook to :meth:`InboxWriter.submit` and await the returned future;
the thread takes everything pending, stores it with one statement and one commit
(:func:`worker.receiver.batch.store_batch`), enqueues, and resolves each future with its answer.
While one group commits, the next gathers, so the commit rate, not the request rate, bounds the
database work: no thread per request, no requests queueing for SQLite's file lock.

A future cancelled before its group was taken (its request ran out of time) is dropped unwritten;
one already taken is written anyway (a later retry of it is a duplicate: harmless). The thread
starts with the first webhook (no lifespan needed), ends after ``IDLE_SECONDS`` without one (an
app that was never shut down leaves no thread behind), and :meth:`InboxWriter.stop` drains and
ends it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from worker.logging import get_logger
from worker.receiver.answers import Answer
from worker.receiver.batch import Pending

log = get_logger(__name__)

MAX_BATCH = 500  # webhooks in one statement; a bound on a burst's statement size, rarely reached
IDLE_SECONDS = 30.0  # the thread ends after this long without a webhook; the next one starts it again

StoreBatch = Callable[[Sequence[Pending]], list[Answer]]
_Item = tuple[Pending, "Future[Answer]"]


class InboxWriter:
    """A single writer thread over ``store`` (``store_batch`` bound to an engine and a queue)."""

    def __init__(self, store: StoreBatch, *, max_batch: int = MAX_BATCH, name: str = "inbox-writer") -> None:
        self._store = store
        self._max_batch = max_batch
        self._name = name
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, event: Pending) -> Future[Answer]:
        """Queue ``event`` for the next group; the future gives its answer once it is committed."""
        future: Future[Answer] = Future()
        with self._lock:  # with the thread's idle exit: an event is never left without a thread
            self._queue.put((event, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        return future

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

    def _gather(self, first: _Item) -> tuple[list[_Item], bool]:
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

    def _write(self, batch: list[_Item]) -> None:
        live = [(event, future) for event, future in batch if future.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            answers = self._store([event for event, _ in live])
        except Exception as error:  # a bug, not an outage (store_batch answers those): fail this group only
            log.error("inbox_writer_failed", size=len(live), error_type=type(error).__name__)
            for _, future in live:
                future.set_exception(error)
            return
        for (_, future), answer in zip(live, answers, strict=True):
            future.set_result(answer)
