"""``GET orders``: the query read as WordPress reads it, then filtered, sorted and paged."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sandbox.woocommerce import orders as build
from sandbox.woocommerce.errors import invalid_param
from sandbox.woocommerce.params import date_param, int_param, one, statuses_param
from sandbox.woocommerce.state import OrderJSON, Shop

ORDERBY = ("date", "id", "include", "title", "slug", "modified")
DATE_BOUNDS = (  # (parameter, order field, whether the order must be later than the bound)
    ("after", "date_created", True),
    ("before", "date_created", False),
    ("modified_after", "date_modified", True),
    ("modified_before", "date_modified", False),
)


@dataclass(frozen=True)
class OrderQuery:
    page: int
    per_page: int
    orderby: str
    descending: bool
    gmt: bool  # the date bounds are GMT rather than site time
    statuses: set[str]
    bounds: dict[str, datetime | None]
    search: str = ""  # ``search``: a word in the order's number, e-mail or billing name

    @classmethod
    def parse(cls, query: Mapping[str, Sequence[str]]) -> OrderQuery:
        """Validated as Woo validates it: ``WooError`` 400 ``rest_invalid_param`` for a bad value."""
        page = int_param(query, "page", 1, minimum=1)
        per_page = int_param(query, "per_page", 10, minimum=1, maximum=100)
        orderby = one(query, "orderby") or "date"
        if orderby not in ORDERBY:
            raise invalid_param("orderby", f"orderby is not one of {', '.join(ORDERBY)}.")
        direction = one(query, "order") or "desc"
        if direction not in ("asc", "desc"):
            raise invalid_param("order", "order is not one of asc, desc.")
        gmt = (one(query, "dates_are_gmt") or "false").lower() in ("true", "1")
        statuses = statuses_param(query)
        bounds = {name: date_param(query, name) for name, _, _ in DATE_BOUNDS}
        search = (one(query, "search") or "").strip().lower()
        return cls(page, per_page, orderby, direction == "desc", gmt, statuses, bounds, search)

    def select(self, orders: Iterable[OrderJSON], utc_offset: timedelta) -> tuple[list[OrderJSON], int, int]:
        """(this page's orders, total, total pages); the orders are the given objects, not copies."""
        offset = timedelta(0) if self.gmt else utc_offset
        suffix = "_gmt" if self.gmt else ""

        def when(order: OrderJSON, field: str) -> datetime:
            return datetime.fromisoformat(order[f"{field}{suffix}"])

        def keep(order: OrderJSON) -> bool:
            if order["status"] not in self.statuses:
                return False
            if self.search and self.search not in _searchable(order):
                return False
            for name, field, later in DATE_BOUNDS:
                bound = self.bounds[name]
                if bound is None:
                    continue
                bound = bound.astimezone(UTC).replace(tzinfo=None) + offset if bound.tzinfo else bound
                # WordPress date queries are exclusive by default
                if (when(order, field) <= bound) if later else (when(order, field) >= bound):
                    return False
            return True

        def sort_key(order: OrderJSON) -> tuple[str, int]:
            if self.orderby == "modified":
                return (order["date_modified_gmt"], order["id"])
            if self.orderby == "date":
                return (order["date_created_gmt"], order["id"])
            return ("", order["id"])

        matched = sorted((order for order in orders if keep(order)), key=sort_key)
        if self.descending:
            matched.reverse()
        total = len(matched)
        chunk = matched[(self.page - 1) * self.per_page : self.page * self.per_page]
        return chunk, total, math.ceil(total / self.per_page)

    def select_indexed(self, shop: Shop) -> tuple[list[OrderJSON], int, int]:
        """:meth:`select` over ``shop``'s orders, read off its index (``sandbox/woocommerce/index.py``)
        when the query sorts by the field its date bounds are on (or has none) and does not search:
        a page costs what it reads, wherever it is in the store. Other queries read every order."""
        sort = self.orderby if self.orderby in ("modified", "date") else "id"
        own = {"modified": ("modified_after", "modified_before"), "date": ("after", "before")}.get(sort, ())
        if self.search or any(bound is not None for name, bound in self.bounds.items() if name not in own):
            return self.select(shop.orders.values(), shop.utc_offset)
        after, before = (
            (self._gmt_bound(self.bounds[name], shop.utc_offset) for name in own) if own else (None, None)
        )
        # stored times are whole seconds: "after 09:59:59.5" is "after 09:59:59" and "before
        # 10:00:00.5" is "before 10:00:01"
        after_text, before_text = build.woo_date(after), build.woo_date(_ceil_second(before))
        low, high = shop.index.span(sort, after_text, before_text)
        keys = shop.index.keys[sort]
        positions = range(high - 1, low - 1, -1) if self.descending else range(low, high)
        if self.statuses == ALL_BUT_TRASH:  # status=any: the range less the trash in it
            total = (high - low) - shop.index.trash_in(sort, after_text, before_text)
        else:
            total = sum(
                1 for position in positions if shop.orders[keys[position][1]]["status"] in self.statuses
            )
        skip, chunk = (self.page - 1) * self.per_page, list[OrderJSON]()
        for position in positions:
            if len(chunk) == self.per_page:
                break
            order = shop.orders[keys[position][1]]
            if order["status"] not in self.statuses:
                continue
            if skip:
                skip -= 1
                continue
            chunk.append(order)
        return chunk, total, math.ceil(total / self.per_page)

    def _gmt_bound(self, bound: datetime | None, utc_offset: timedelta) -> datetime | None:
        """A date bound as a GMT time (naive), as ``select`` compares it with the orders' times."""
        if bound is None:
            return None
        offset = timedelta(0) if self.gmt else utc_offset
        local = bound.astimezone(UTC).replace(tzinfo=None) + offset if bound.tzinfo else bound
        return local - offset


ALL_BUT_TRASH = frozenset(status for status in build.STATUSES if status != "trash")


def _ceil_second(moment: datetime | None) -> datetime | None:
    if moment is None or not moment.microsecond:
        return moment
    return moment.replace(microsecond=0) + timedelta(seconds=1)


def _searchable(order: OrderJSON) -> str:
    """What WordPress's order search looks in (sequential-number plugins add their number)."""
    billing = order.get("billing") or {}
    fields = (order.get("number"), order.get("id"), billing.get("email"), billing.get("first_name"))
    return " ".join(str(value) for value in (*fields, billing.get("last_name")) if value).lower()
