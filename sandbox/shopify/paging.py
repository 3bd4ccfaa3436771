"""Cursor pagination as Shopify does it: an opaque ``page_info`` in ``Link`` headers.

Our page_info encodes a keyset position ``(updated_at, id)`` plus the filters of the first
request. Reading "after this position" (not "skip N rows") means an order that changes while a
client pages moves behind the cursor and is read again later, and no other order is skipped.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Key = tuple[datetime, int]


class PageInfoError(ValueError):
    """A page_info we did not hand out (or one that was modified)."""


@dataclass(frozen=True)
class Cursor:
    key: Key
    direction: str  # "next": after key; "previous": before key
    filters: dict[str, str]


def encode(cursor: Cursor) -> str:
    data = {
        "k": [cursor.key[0].isoformat(), cursor.key[1]],
        "d": cursor.direction,
        "f": cursor.filters,
    }
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(page_info: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(page_info + "=" * (-len(page_info) % 4))
        data = json.loads(raw)
        moment, order_id = data["k"]
        direction = data["d"]
        filters = data["f"]
        if direction not in ("next", "previous") or not isinstance(filters, dict):
            raise PageInfoError(page_info)
        return Cursor((datetime.fromisoformat(moment), int(order_id)), direction, filters)
    except (ValueError, KeyError, TypeError) as error:
        raise PageInfoError(page_info) from error


@dataclass(frozen=True)
class Page:
    items: list[Any]
    first: Key | None
    last: Key | None
    has_next: bool
    has_previous: bool


def select(rows: list[tuple[Key, Any]], cursor: Cursor | None, limit: int) -> Page:
    """One page of ``rows`` (sorted by key) after or before the cursor."""
    if cursor is None:
        window = rows[:limit]
        has_next = len(rows) > limit
        has_previous = False
    elif cursor.direction == "next":
        after = [row for row in rows if row[0] > cursor.key]
        window = after[:limit]
        has_next = len(after) > limit
        has_previous = len(rows) > len(after)
    else:
        before = [row for row in rows if row[0] < cursor.key]
        window = before[-limit:]
        has_previous = len(before) > limit
        has_next = len(rows) > len(before)
    return Page(
        items=[item for _, item in window],
        first=window[0][0] if window else None,
        last=window[-1][0] if window else None,
        has_next=has_next and bool(window),
        has_previous=has_previous and bool(window),
    )
