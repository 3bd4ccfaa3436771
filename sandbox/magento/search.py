"""Magento's ``searchCriteria`` query language, as ``GET /V1/orders`` and ``/V1/shipments`` read it.

Query keys are bracketed paths: ``searchCriteria[filter_groups][0][filters][1][field]=updated_at``.
Filters in one group are OR-ed, groups are AND-ed; ``sortOrders`` apply in order; ``pageSize`` absent
means everything; a ``currentPage`` past the end answers the last page again, as Magento did for
``/V1/orders`` for years (magento/magento2#3787): clients must stop by ``total_count``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

SEARCH_PREFIX = "searchCriteria"
BRACKETS = re.compile(r"\[([^\]]*)\]")
CONDITIONS = frozenset(
    {"eq", "neq", "gt", "gteq", "lt", "lteq", "from", "to", "in", "nin", "like", "nlike", "null", "notnull"}
    | {"finset", "nfinset", "moreq"}
)

Record = dict[str, Any]


class SearchError(ValueError):
    """A searchCriteria Magento would refuse (400): ``message`` and ``parameters`` in its error shape."""

    def __init__(self, message: str, parameters: list[str]) -> None:
        super().__init__(message)
        self.message = message
        self.parameters = parameters


@dataclass(frozen=True)
class Filter:
    field: str
    value: str
    condition_type: str = "eq"


@dataclass
class SearchCriteria:
    filter_groups: list[list[Filter]] = field(default_factory=list)
    sort_orders: list[tuple[str, str]] = field(default_factory=list)
    page_size: int | None = None
    current_page: int = 1

    def as_json(self) -> dict[str, Any]:
        """The ``search_criteria`` echo of a search response."""
        body: dict[str, Any] = {
            "filter_groups": [{"filters": [vars(item) for item in group]} for group in self.filter_groups],
            "current_page": self.current_page,
        }
        if self.sort_orders:
            body["sort_orders"] = [{"field": f, "direction": d} for f, d in self.sort_orders]
        if self.page_size is not None:
            body["page_size"] = self.page_size
        return body


def parse_search_criteria(query: Iterable[tuple[str, str]]) -> SearchCriteria:
    """Read the bracketed query parameters (snake_case or camelCase keys, as Magento accepts both)."""
    tree: dict[str, Any] = {}
    for key, value in query:
        if not key.startswith(SEARCH_PREFIX + "["):
            continue
        path = [_snake(part) for part in BRACKETS.findall(key[len(SEARCH_PREFIX) :])]
        node = tree
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SearchError('"%1" is not a valid search criteria key.', [key])
            node = child
        if path:
            node[path[-1]] = value
    criteria = SearchCriteria()
    for group in _indexed(tree.get("filter_groups")):
        filters = []
        for raw in _indexed(group.get("filters") if isinstance(group, dict) else None):
            if not isinstance(raw, dict) or not raw.get("field"):
                raise SearchError('"%1" is required. Enter and try again.', ["field"])
            condition = str(raw.get("condition_type") or "eq")
            if condition not in CONDITIONS:
                raise SearchError(
                    'Invalid value of "%1" provided for the %2 field.', [condition, "condition_type"]
                )
            filters.append(Filter(str(raw["field"]), str(raw.get("value", "")), condition))
        if filters:
            criteria.filter_groups.append(filters)
    for raw in _indexed(tree.get("sort_orders")):
        if isinstance(raw, dict) and raw.get("field"):
            direction = str(raw.get("direction") or "ASC").upper()
            criteria.sort_orders.append((str(raw["field"]), "DESC" if direction == "DESC" else "ASC"))
    criteria.page_size = _positive_int(tree.get("page_size"), "pageSize")
    criteria.current_page = _positive_int(tree.get("current_page"), "currentPage") or 1
    return criteria


def run_search(
    records: list[Record], criteria: SearchCriteria, *, default_sort: tuple[str, str]
) -> tuple[list[Record], int]:
    """The page of matching records and the total number of matches."""
    matches = [record for record in records if _matches_all(record, criteria.filter_groups)]
    for sort_field, direction in reversed(criteria.sort_orders or [default_sort]):
        matches.sort(key=_sort_key_of(sort_field), reverse=direction == "DESC")
    total = len(matches)
    if criteria.page_size is None:
        return matches, total
    last_page = max(1, math.ceil(total / criteria.page_size))
    page = min(criteria.current_page, last_page)  # past the end: the last page again, not an empty one
    start = (page - 1) * criteria.page_size
    return matches[start : start + criteria.page_size], total


def _matches_all(record: Record, groups: list[list[Filter]]) -> bool:
    return all(any(_matches(record.get(item.field), item) for item in group) for group in groups)


def _matches(actual: Any, item: Filter) -> bool:
    condition = item.condition_type
    if condition == "null":
        return actual is None
    if condition == "notnull":
        return actual is not None
    if actual is None:
        return False
    if condition in ("in", "nin"):
        found = any(_compare(actual, option.strip()) == 0 for option in item.value.split(","))
        return found if condition == "in" else not found
    if condition in ("like", "nlike"):
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in item.value)
        found = re.fullmatch(pattern, str(actual), flags=re.IGNORECASE | re.DOTALL) is not None
        return found if condition == "like" else not found
    if condition in ("finset", "nfinset"):
        found = item.value in str(actual).split(",")
        return found if condition == "finset" else not found
    order = _compare(actual, item.value)
    if order is None:
        return False
    return {
        "eq": order == 0,
        "neq": order != 0,
        "gt": order > 0,
        "gteq": order >= 0,
        "moreq": order >= 0,
        "from": order >= 0,
        "lt": order < 0,
        "lteq": order <= 0,
        "to": order <= 0,
    }[condition]


def _compare(actual: Any, value: str) -> int | None:
    """-1/0/1 of ``actual`` against the filter text: numbers as numbers, everything else as text
    (Magento's ``YYYY-MM-DD HH:MM:SS`` times order correctly as text)."""
    if isinstance(actual, bool | int | float):
        try:
            number = float(value)
        except ValueError:
            return None
        return (float(actual) > number) - (float(actual) < number)
    text = str(actual)
    return (text > value) - (text < value)


def _sort_key_of(field_name: str) -> Callable[[Record], tuple[int, float, str]]:
    return lambda record: _sort_key(record.get(field_name))


def _sort_key(value: Any) -> tuple[int, float, str]:
    # NULLs first, as MySQL sorts them ascending; numbers by value, text by text
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, bool | int | float):
        return (1, float(value), "")
    return (2, 0.0, str(value))


def _indexed(node: Any) -> list[Any]:
    if not isinstance(node, dict):
        return []
    try:
        keys = sorted(node, key=int)
    except ValueError:
        raise SearchError('"%1" is not a valid index.', [", ".join(node)]) from None
    return [node[key] for key in keys]


def _positive_int(raw: Any, name: str) -> int | None:
    if raw in (None, ""):
        return None
    try:
        number = int(raw)
    except (TypeError, ValueError):
        raise SearchError('Invalid value of "%1" provided for the %2 field.', [str(raw), name]) from None
    if number < 1:
        raise SearchError('Invalid value of "%1" provided for the %2 field.', [str(raw), name])
    return number


def _snake(part: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", part).lower()
