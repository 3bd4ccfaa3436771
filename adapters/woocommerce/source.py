"""WooCommerce REST v3 orders (``{url}/wp-json/wc/v3/``) as a declared source.

Listing: ``modified_after`` (GMT) + ``orderby=modified&order=asc``, pages of up to 100. Offset pages
over a set that changes while we read it skip rows: an order modified mid-listing jumps to the end
and every later order shifts one place towards page 1, so the first order of the next page would
slide onto the page already read. :class:`ModifiedKeysetPaginator` therefore asks for page 1 again
from the newest modification time seen so far (a keyset), and the base loop drops ids already
yielded. ``X-WP-TotalPages`` still ends the listing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from adapters.errors import ApiRejected, TransientError
from adapters.settings import ShopConnection
from adapters.source import OrderSource, PageRequest, Paginator, Record
from adapters.types import WOOCOMMERCE
from adapters.woocommerce.auth import build_auth

API_PATH = "/wp-json/wc/v3/"
MAX_PAGE_SIZE = 100  # WooCommerce rejects more with 400 rest_invalid_param
WOO_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
# Woo stores modification times to the second, and WordPress date queries treat "after" as
# exclusive: re-query from one second before the newest time seen, so an order sharing that
# second but not yet read is not lost (the ones already read are dropped by id).
KEYSET_OVERLAP = timedelta(seconds=1)


def parse_woo_date(value: object) -> datetime | None:
    """A Woo ``*_gmt`` timestamp ("2017-03-22T19:28:08", no zone) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_woo_date(moment: datetime) -> str:
    """``moment`` as Woo's GMT format; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(WOO_DATE_FORMAT)


def _int_header(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


class ModifiedKeysetPaginator(Paginator):
    """Page numbers within a query, but a fresh query from the newest ``date_modified_gmt`` seen.

    After each page: when the page moved the keyset forward, ask for page 1 of
    ``modified_after = newest - 1s``; when it did not (more than a page of orders share one
    second), fall back to the next page number of the same query. The floors only grow, so no
    request repeats. The listing ends on an empty page, or when the page read was the last one
    ``X-WP-TotalPages`` announced for its query (or a short page when the header is missing).
    """

    def __init__(self, *, replication_key: str = "date_modified_gmt") -> None:
        self._replication_key = replication_key

    def next_page(
        self, request: PageRequest, response: httpx.Response, records: list[Record]
    ) -> PageRequest | None:
        page = int(request.params.get("page", 1))
        per_page = int(request.params.get("per_page", MAX_PAGE_SIZE))
        total_pages = _int_header(response, "X-WP-TotalPages")
        if not records:
            return None
        if total_pages is not None and page >= total_pages:
            return None
        if total_pages is None and len(records) < per_page:
            return None
        stamps = [parse_woo_date(record.get(self._replication_key)) for record in records]
        newest = max((stamp for stamp in stamps if stamp is not None), default=None)
        floor = parse_woo_date(request.params.get("modified_after"))
        if newest is not None:
            new_floor = newest - KEYSET_OVERLAP
            if floor is None or new_floor > floor:
                params = {**request.params, "modified_after": format_woo_date(new_floor), "page": 1}
                return PageRequest(request.url, params)
        return PageRequest(request.url, {**request.params, "page": page + 1})


class WooCommerceSource(OrderSource):
    """One WooCommerce store's orders through REST v3 with consumer key and secret (OAuth 1.0a
    signatures over http, Basic or query keys over https)."""

    platform = WOOCOMMERCE
    orders_path = "orders"
    replication_key = "date_modified_gmt"
    page_size = MAX_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE

    def __init__(self, settings: ShopConnection, *, query_string_auth: bool = False, **options: Any) -> None:
        """``query_string_auth``: send the keys as query parameters from the first request on, as
        ``auth = "query"`` does (for hosts known to drop the Authorization header; with
        ``auth = "auto"`` over https the switch happens on its own after the first "Consumer key is
        missing" answer). How the other schemes sign: ``adapters/woocommerce/auth.py``."""
        self._query_string_auth = query_string_auth
        super().__init__(settings, **options)

    # -- declarations ----------------------------------------------------------------------

    def base_url(self) -> str:
        return self.settings.url.rstrip("/") + API_PATH

    def auth(self) -> httpx.Auth:
        return build_auth(self.settings, query_string=self._query_string_auth)

    def paginator(self) -> Paginator:
        return ModifiedKeysetPaginator(replication_key=self.replication_key)

    def listing_params(self, since: datetime | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "orderby": "modified",
            "order": "asc",
            "per_page": self.page_limit(),
            "page": 1,
            "dates_are_gmt": "true",
            # "any" is every status but trash; trashed orders arrive as order.deleted webhooks
            "status": "any",
        }
        if since is not None:
            params["modified_after"] = format_woo_date(since)
        return params

    def total_of(self, response: httpx.Response) -> int | None:
        # the first query (page 1 from the window's start) counts every order in the window
        return _int_header(response, "X-WP-Total")

    def parse_page(self, response: httpx.Response) -> list[Record]:
        body = response.json()
        if not isinstance(body, list):
            raise TransientError("woocommerce answered a non-list orders page", service=self.platform)
        return [record for record in body if isinstance(record, dict)]

    def order_path(self, shop_order_id: str) -> str:
        return f"orders/{int(shop_order_id)}"

    def find_order_by_number(self, number: str) -> Record | None:
        """The order whose ``number`` (what the shop shows, ``#1009``) is ``number``, or None.

        The number is the id unless a plugin (sequential order numbers) changes it: a numeric
        value is tried as the id first, then Woo's ``search`` (which such plugins extend to their
        number) is matched on ``number`` exactly.
        """
        wanted = number.strip().lstrip("#")
        if not wanted:
            return None
        if wanted.isdigit():
            try:
                order = self.get_order(wanted)
            except ApiRejected as error:
                if error.status != 404:
                    raise
            else:
                if str(order.get("number")) == wanted:
                    return order
        params = {"search": wanted, "status": "any", "per_page": MAX_PAGE_SIZE}
        found = self.parse_page(self.send("GET", self.orders_path, params=params))
        matches = [order for order in found if str(order.get("number")) == wanted]
        return self.with_refund_lines(matches[0]) if len(matches) == 1 else None

    # -- refunds: the order JSON carries only their totals ----------------------------------

    def iter_orders(self, since: datetime | None = None) -> Iterator[Record]:
        """Every order changed since ``since``, each once, with its refunds' lines filled in."""
        for order in super().iter_orders(since):
            yield self.with_refund_lines(order)

    def get_order(self, shop_order_id: str) -> Record:
        return self.with_refund_lines(super().get_order(shop_order_id))

    def with_refund_lines(self, order: Record) -> Record:
        """``order`` with ``refunds`` replaced by the full refund objects (with their lines).

        Woo's order JSON lists refunds as ``{id, reason, total}`` only; which lines (and how many
        of each) went back is in ``GET orders/{id}/refunds``. The mapper needs it to ship what is
        still to ship. One extra request, only for orders that have refunds.
        """
        if not needs_refund_lines(order):
            return order
        response = self.send("GET", f"orders/{int(order['id'])}/refunds", params={"per_page": MAX_PAGE_SIZE})
        refunds = response.json()
        if not isinstance(refunds, list):
            raise TransientError("woocommerce answered a non-list refunds page", service=self.platform)
        return {**order, "refunds": refunds}

    # -- writes used by fulfilment ------------------------------------------------------------

    def update_order(self, shop_order_id: str, fields: dict[str, Any]) -> Record:
        """``PUT orders/{id}``: idempotent, so the base's retries are safe."""
        return self.parse_order(self.send("PUT", self.order_path(shop_order_id), json=fields))

    def list_notes(self, shop_order_id: str) -> list[Record]:
        body = self.send("GET", f"{self.order_path(shop_order_id)}/notes").json()
        return [note for note in body if isinstance(note, dict)] if isinstance(body, list) else []

    def add_note(self, shop_order_id: str, note: str, *, customer_note: bool) -> Record:
        """``POST orders/{id}/notes``, sent once: not idempotent, so a 5xx or timeout is not
        retried here (that could add the note twice, and mail the customer twice); the error goes
        to the caller, which re-reads the notes before trying again."""
        body = self.send(
            "POST",
            f"{self.order_path(shop_order_id)}/notes",
            idempotent=False,
            json={"note": note, "customer_note": customer_note},
        ).json()
        return body if isinstance(body, dict) else {}


def needs_refund_lines(order: Record) -> bool:
    """True when ``order`` has refunds given only as totals (as in order JSON and webhooks)."""
    refunds = order.get("refunds")
    if not isinstance(refunds, list) or not refunds:
        return False
    return any(isinstance(refund, dict) and "line_items" not in refund for refund in refunds)
