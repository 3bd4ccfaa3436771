"""How a resync reads a shop's listing: the next pages fetched while this one is worked on, in batches.

A resync's time goes to two things that can overlap: waiting for the shop's next page (the network
and the shop's own work) and mapping and comparing the orders of the page it has. :func:`read_ahead`
lists in a thread of its own, a bounded number of orders ahead (so memory stays flat in the size of
the listing); :func:`batches` hands the orders on in groups, so the mirror is read once per group
instead of once per order. Both keep the listing's order, and an error of the listing arrives after
the orders read before it, as it would have without them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Final, TypeVar

T = TypeVar("T")

READ_AHEAD: Final = 100  # orders listed ahead of the one being worked on (a few pages)
BATCH: Final = 50  # orders mapped and compared with the mirror together
_POLL_SECONDS: Final = 0.5
SWITCH_SECONDS: Final = 0.0005  # how often a blocked lister looks whether the reader went away


class _End:
    """The listing ended: normally (``error`` None) or with ``error``."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def read_ahead(items: Iterator[T], *, depth: int = READ_AHEAD) -> Iterator[T]:
    """``items``, produced by a thread of their own up to ``depth`` ahead of the reader.

    The thread stops when ``items`` ends or fails (the failure is raised to the reader after the
    items before it) and when the reader stops early (it closes this generator, or drops it).
    """
    handed: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def put(item: T | _End) -> bool:
        while not stopped.is_set():
            try:
                handed.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # handed to the reader, who raises it where it reads
            put(_End(error))
        else:
            put(_End())
        finally:
            close = getattr(items, "close", None)
            if stopped.is_set() and close is not None:
                close()  # the reader went away: let the listing's own cleanup run, in its thread

    lister = threading.Thread(target=produce, name="resync-listing", daemon=True)
    lister.start()
    try:
        while True:
            item = handed.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stopped.set()
        lister.join(timeout=_POLL_SECONDS * 4)


def batches(items: Iterator[T], size: int = BATCH) -> Iterator[list[T]]:
    """``items`` in lists of up to ``size``; when ``items`` fails, the items read before the failure
    come first (a short list), then the failure."""
    batch: list[T] = []
    failure: Exception | None = None
    try:
        for item in items:
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
    except Exception as error:  # raised below, once the orders before it are handed on
        failure = error
    if batch:
        yield batch
    if failure is not None:
        raise failure
