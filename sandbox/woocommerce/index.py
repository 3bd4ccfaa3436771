"""A shop's orders in sorted order, so ``GET orders`` reads a page instead of sorting every order.

Three orders: by ``date_modified_gmt``, by ``date_created_gmt`` (each then by id) and by id, each a
sorted list of keys, with the trashed orders' keys apart (``status=any`` leaves the trash out, and
its count is the range's size less the trash in it). A page bisects to its date bounds and walks only
as far as it reaches, so a page deep in a 100,000-order store costs what the first page costs.

The index follows the orders through :meth:`OrderIndex.update`, which the state calls whenever it
stamps an order's ``date_modified`` (every change does: ``WooState.touch``), and through
:meth:`add` and :meth:`remove`.
"""

from __future__ import annotations

import bisect
from typing import Any, Final

OrderKey = tuple[str, int]
SORTS: Final = ("modified", "date", "id")
_FIELDS: Final = {"modified": "date_modified_gmt", "date": "date_created_gmt", "id": None}
TRASH: Final = "trash"


def order_key(order: dict[str, Any], sort: str) -> OrderKey:
    field = _FIELDS[sort]
    return (str(order[field]) if field else "", int(order["id"]))


class OrderIndex:
    def __init__(self) -> None:
        self.keys: dict[str, list[OrderKey]] = {sort: [] for sort in SORTS}
        self.trash: dict[str, list[OrderKey]] = {sort: [] for sort in SORTS}
        # per order id: the keys and whether it was trashed, as indexed (what to take out on a change)
        self._indexed: dict[int, tuple[tuple[OrderKey, ...], bool]] = {}

    def add(self, order: dict[str, Any]) -> None:
        self.update(order)

    def update(self, order: dict[str, Any]) -> None:
        """Index ``order`` as it is now (taking out how it was indexed before)."""
        self.remove(int(order["id"]))
        keys = tuple(order_key(order, sort) for sort in SORTS)
        trashed = order.get("status") == TRASH
        for sort, key in zip(SORTS, keys, strict=True):
            _insert(self.keys[sort], key)
            if trashed:
                _insert(self.trash[sort], key)
        self._indexed[int(order["id"])] = (keys, trashed)

    def remove(self, order_id: int) -> None:
        indexed = self._indexed.pop(order_id, None)
        if indexed is None:
            return
        keys, trashed = indexed
        for sort, key in zip(SORTS, keys, strict=True):
            _delete(self.keys[sort], key)
            if trashed:
                _delete(self.trash[sort], key)

    def span(self, sort: str, after: str | None, before: str | None) -> tuple[int, int]:
        """The positions in ``keys[sort]`` strictly after ``after`` and before ``before`` (GMT
        times in Woo's format; None: no bound)."""
        return _span(self.keys[sort], after, before)

    def trash_in(self, sort: str, after: str | None, before: str | None) -> int:
        low, high = _span(self.trash[sort], after, before)
        return high - low


_AFTER_EVERY_ID: Final = 2**63


def _span(keys: list[OrderKey], after: str | None, before: str | None) -> tuple[int, int]:
    low = bisect.bisect_right(keys, (after, _AFTER_EVERY_ID)) if after is not None else 0
    high = bisect.bisect_left(keys, (before, -1)) if before is not None else len(keys)
    return low, max(low, high)


def _insert(keys: list[OrderKey], key: OrderKey) -> None:
    if not keys or key > keys[-1]:
        keys.append(key)  # the usual case: the newest change sorts last
    else:
        bisect.insort(keys, key)


def _delete(keys: list[OrderKey], key: OrderKey) -> None:
    position = bisect.bisect_left(keys, key)
    if position < len(keys) and keys[position] == key:
        del keys[position]
