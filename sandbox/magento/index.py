"""A shop's orders by ``(updated_at, entity_id)``, so the keyset listing reads a page, not every order.

``GET /V1/orders`` used to render (deep-copy) every order of the shop and then filter and sort them,
for every page. The adapter's listing (``adapters/magento/source.py``) sorts by ``updated_at`` then
``entity_id`` and filters to the orders after a key, as filter groups of a few known shapes; for
those, :func:`keyset_search` bisects this index to the first match and renders only the page. Its
``total_count`` is what lies after that key. Any other search returns None: the caller then runs
the general search over every order.

The store keeps the index: :meth:`OrderIndex.update` whenever it creates an order or stamps its
``updated_at`` (``MagentoShop._touch``, which every change goes through).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import Any, Final

from sandbox.magento.search import Filter, SearchCriteria

Key = tuple[str, int]
KEYSET_SORT: Final = [("updated_at", "ASC"), ("entity_id", "ASC")]
LOWER_BOUNDS: Final = frozenset({"gteq", "from", "moreq"})
_BEFORE_EVERY_ID: Final = -1
_AFTER_EVERY_ID: Final = 2**63


class OrderIndex:
    def __init__(self) -> None:
        self.keys: list[Key] = []  # sorted
        self._indexed: dict[int, Key] = {}

    def update(self, order: dict[str, Any]) -> None:
        """Index ``order`` under its ``updated_at`` now (taking out its key before)."""
        order_id = int(order["entity_id"])
        old = self._indexed.get(order_id)
        if old is not None:
            position = bisect.bisect_left(self.keys, old)
            if position < len(self.keys) and self.keys[position] == old:
                del self.keys[position]
        key = (str(order["updated_at"]), order_id)
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)  # the usual case: the newest change sorts last
        else:
            bisect.insort(self.keys, key)
        self._indexed[order_id] = key


def keyset_search(
    index: OrderIndex, criteria: SearchCriteria, render: Callable[[int], dict[str, Any]]
) -> tuple[list[dict[str, Any]], int] | None:
    """The page and ``total_count`` of a search sorted by ``(updated_at, entity_id)`` whose filter
    groups each bound that key from below, read off ``index``; None for any other search."""
    if criteria.sort_orders != KEYSET_SORT:
        return None
    lowest = _lower_bound(criteria.filter_groups)
    if lowest is None:
        return None
    start = bisect.bisect_right(index.keys, lowest)  # no key is (T, -1) or (T, ∞): right is left there
    total = len(index.keys) - start
    if criteria.page_size is None:
        return [render(order_id) for _, order_id in index.keys[start:]], total
    last_page = max(1, math.ceil(total / criteria.page_size))
    page = min(criteria.current_page, last_page)  # past the end: the last page again, as Magento
    first = start + (page - 1) * criteria.page_size
    return [render(order_id) for _, order_id in index.keys[first : first + criteria.page_size]], total


def _lower_bound(groups: list[list[Filter]]) -> Key | None:
    """The key every match lies after (or at, with ``_BEFORE_EVERY_ID``), when the groups together
    say exactly "after this key"; None when they say anything else.

    A group is ``updated_at >= T`` (at ``(T, -1)``), ``updated_at > T`` (after ``(T, ∞)``), or the
    keyset's ``updated_at > T OR entity_id > N`` (after ``(T, N)``), which says "after (T, N)" only
    beside a group that already keeps ``updated_at >= T`` or later.
    """
    simple: list[Key] = [("", _BEFORE_EVERY_ID)]
    pairs: list[Key] = []
    for group in groups:
        if len(group) == 1 and group[0].field == "updated_at":
            condition, moment = group[0].condition_type, group[0].value
            if condition in LOWER_BOUNDS:
                simple.append((moment, _BEFORE_EVERY_ID))
            elif condition == "gt":
                simple.append((moment, _AFTER_EVERY_ID))
            else:
                return None
        elif len(group) == 2 and {item.field for item in group} == {"updated_at", "entity_id"}:
            stamp = next(item for item in group if item.field == "updated_at")
            after_id = next(item for item in group if item.field == "entity_id")
            if (
                stamp.condition_type != "gt"
                or after_id.condition_type != "gt"
                or not after_id.value.isdigit()
            ):
                return None
            pairs.append((stamp.value, int(after_id.value)))
        else:
            return None
    floor = max(simple)
    if any(floor[0] < moment for moment, _ in pairs):
        return None  # orders between the floor and T with an id above N would match too
    return max([floor, *pairs])
