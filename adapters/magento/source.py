"""Magento 2 REST as a declared order source: OAuth 1.0a (or bearer), ``searchCriteria`` keyset pages.

Why keyset and not ``currentPage`` 1, 2, 3: the listing is sorted by ``updated_at``, so an order that
changes while we page moves to the end and shifts every later order one place forward; offset pages
then skip one order per change. Instead every page is page 1 of "after the last order I read", with
``(updated_at, entity_id)`` as the key. Magento cannot compare tuples, but the keyset condition
``updated_at > T OR (updated_at = T AND entity_id > N)`` is, in conjunctive form, two filter groups
(groups are AND-ed, filters in a group OR-ed)::

    [updated_at >= T]  AND  [updated_at > T  OR  entity_id > N]

An order moved to the end is met again and dropped by the base loop's id set; no other order can be
skipped, and many orders sharing one second cannot stall the listing. Each query's ``total_count`` is
what is left, so the page that holds all of it is the last one: we never ask for a page past the end
(where Magento answers the last page again instead of an empty one).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from adapters.errors import FatalError, TransientError
from adapters.magento.auth import build_auth
from adapters.source import OrderSource, PageRequest, Paginator, Record
from adapters.types import MAGENTO

DEFAULT_PAGE_SIZE = 100
MAGENTO_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SEARCH = "searchCriteria"


def magento_time(moment: datetime) -> str:
    """Magento's UTC ``YYYY-MM-DD HH:MM:SS``; a naive time is taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(MAGENTO_TIME_FORMAT)


def search_params(
    groups: list[list[tuple[str, str, str]]],
    *,
    sort: Sequence[tuple[str, str]] = (),
    page_size: int | None = None,
    current_page: int | None = None,
) -> dict[str, str]:
    """Bracketed ``searchCriteria`` query parameters: groups of ``(field, value, condition_type)``."""
    params: dict[str, str] = {}
    for g, group in enumerate(groups):
        for f, (field, value, condition) in enumerate(group):
            prefix = f"{SEARCH}[filter_groups][{g}][filters][{f}]"
            params[f"{prefix}[field]"] = field
            params[f"{prefix}[value]"] = value
            params[f"{prefix}[condition_type]"] = condition
    for s, (field, direction) in enumerate(sort):
        params[f"{SEARCH}[sortOrders][{s}][field]"] = field
        params[f"{SEARCH}[sortOrders][{s}][direction]"] = direction
    if page_size is not None:
        params[f"{SEARCH}[pageSize]"] = str(page_size)
    if current_page is not None:
        params[f"{SEARCH}[currentPage]"] = str(current_page)
    return params


KEYSET_SORT = [("updated_at", "ASC"), ("entity_id", "ASC")]


class KeysetPaginator(Paginator):
    """Next page = page 1 of the orders after the last one read, by ``(updated_at, entity_id)``."""

    def __init__(self, page_size: int) -> None:
        self.page_size = page_size

    def first_page(self, since: datetime | None) -> dict[str, str]:
        groups = [[("updated_at", magento_time(since), "gteq")]] if since is not None else []
        return search_params(groups, sort=KEYSET_SORT, page_size=self.page_size, current_page=1)

    def next_page(
        self, request: PageRequest, response: httpx.Response, records: list[Record]
    ) -> PageRequest | None:
        if not records or total_count(response) <= len(records):
            return None  # this page held everything that was left
        last = records[-1]
        updated_at, entity_id = last.get("updated_at"), last.get("entity_id")
        if not isinstance(updated_at, str) or entity_id is None:
            raise FatalError(f"Magento order {entity_id} has no updated_at to page by")
        groups = [
            [("updated_at", updated_at, "gteq")],
            [("updated_at", updated_at, "gt"), ("entity_id", str(entity_id), "gt")],
        ]
        params = search_params(groups, sort=KEYSET_SORT, page_size=self.page_size, current_page=1)
        return PageRequest(request.url, params)


def total_count(response: httpx.Response) -> int:
    body = response.json()
    count = body.get("total_count") if isinstance(body, dict) else None
    if not isinstance(count, int):
        raise TransientError("Magento answered a search without total_count", service=MAGENTO)
    return count


class MagentoSource(OrderSource):
    """``{url}/rest/V1/`` (or ``/rest/{store_code}/V1/``), every request signed OAuth 1.0a with the
    integration's four values (or a bearer token, ``auth = "bearer"``); polling only."""

    platform = MAGENTO
    orders_path = "orders"
    replication_key = "updated_at"
    primary_key = "entity_id"
    page_size = DEFAULT_PAGE_SIZE

    def base_url(self) -> str:
        store = f"{self.settings.store_code.strip('/')}/" if self.settings.store_code else ""
        return f"{self.settings.url.rstrip('/')}/rest/{store}V1/"

    def auth(self) -> httpx.Auth:
        return build_auth(self.settings)

    def paginator(self) -> KeysetPaginator:
        return KeysetPaginator(self.page_limit())

    def listing_params(self, since: datetime | None) -> dict[str, Any]:
        return dict(self.paginator().first_page(since))

    def parse_page(self, response: httpx.Response) -> list[Record]:
        body = response.json()
        items = body.get("items") if isinstance(body, dict) else None
        if items is None:
            return []  # Magento sends "items": null on an empty search in some versions
        if not isinstance(items, list):
            raise TransientError("Magento answered a search without an items list", service=MAGENTO)
        return [item for item in items if isinstance(item, dict)]

    def total_of(self, response: httpx.Response) -> int | None:
        # the first keyset query covers the whole window, so its total_count is the listing's size
        return total_count(response)

    def order_path(self, shop_order_id: str) -> str:
        return f"orders/{shop_order_id}"

    def find_order_by_number(self, number: str) -> Record | None:
        """The order whose ``increment_id`` (the number people see, ``#000000042``) is ``number``."""
        wanted = number.strip().lstrip("#")
        if not wanted:
            return None
        params = search_params([[("increment_id", wanted, "eq")]], page_size=2)
        found = self.parse_page(self.send("GET", self.orders_path, params=params))
        matches = [order for order in found if str(order.get("increment_id")) == wanted]
        return matches[0] if len(matches) == 1 else None
