"""Picqer's pagination: ``offset`` steps of 100 until a page comes back with fewer than 100 rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from adapters.source import PaginationLoopError

PAGE_SIZE = 100  # fixed by Picqer; there is no page-size parameter

FetchPage = Callable[[int], list[Any]]


def iter_offset_pages(
    fetch_page: FetchPage, *, key: str | None = None, page_size: int = PAGE_SIZE
) -> Iterator[Any]:
    """Yield the rows of every page, fetching each only when the previous one is used up.

    ``fetch_page(offset)`` returns one page of raw rows. A total that is an exact multiple of 100
    costs one extra request that comes back empty. With ``key`` (the id field), a row that shifts
    onto the next page while we read (offsets drift when rows are added) is yielded once, and a
    server that ignores ``offset`` (hands out the same full page again) ends in an error instead
    of an endless loop.
    """
    offset = 0
    seen: set[Any] = set()
    previous_ids: list[Any] | None = None
    while True:
        rows = fetch_page(offset)
        if key is not None:
            ids = [row.get(key) if isinstance(row, dict) else None for row in rows]
            if rows and ids == previous_ids and None not in ids:
                raise PaginationLoopError(
                    f"Picqer returned the same page again at offset {offset}", service="Picqer"
                )
            previous_ids = ids
        for row in rows:
            if key is not None and isinstance(row, dict) and row.get(key) is not None:
                if row[key] in seen:
                    continue
                seen.add(row[key])
            yield row
        if len(rows) < page_size:
            return
        offset += page_size
