"""A resync's listing read ahead in a thread and handed on in batches: the same items in the same
order, a failure after the items before it, and a reader that stops early stops the lister."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from worker.sync.resync_listing import batches, read_ahead


class ListingStopped(Exception):
    pass


def listing(count: int, *, fail_after: int | None = None) -> Iterator[int]:
    for item in range(count):
        if item == fail_after:
            raise ListingStopped("the shop stopped answering")
        yield item


def test_read_ahead_keeps_the_order_and_raises_where_the_listing_failed() -> None:
    assert list(read_ahead(listing(1000), depth=7)) == list(range(1000))
    seen: list[int] = []
    with pytest.raises(ListingStopped):
        seen.extend(read_ahead(listing(50, fail_after=30), depth=4))
    assert seen == list(range(30))


def test_a_reader_that_stops_early_stops_the_lister() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            item = 0
            while True:
                yield item
                item += 1
        finally:
            closed.set()

    ahead = read_ahead(endless(), depth=3)
    assert [next(ahead) for _ in range(5)] == [0, 1, 2, 3, 4]
    ahead.close()
    assert closed.wait(5)  # the listing's own cleanup ran


def test_batches_hand_on_what_was_read_before_a_failure() -> None:
    assert [len(batch) for batch in batches(listing(120), 50)] == [50, 50, 20]
    got: list[list[int]] = []
    with pytest.raises(ListingStopped):
        got.extend(batches(listing(120, fail_after=73), 50))
    assert got == [list(range(50)), list(range(50, 73))]
