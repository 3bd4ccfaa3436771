"""Shopify's Admin REST API as a declared order source.

Incremental listing is ``orders.json?updated_at_min=...&status=any`` with cursor pages from the
``Link`` header. Shopify meters REST calls with a leaky bucket per app and store; every response
says how full it is (``X-Shopify-Shop-Api-Call-Limit: used/size``), so we slow down before the
bucket overflows instead of collecting 429s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

from adapters.errors import TransientError
from adapters.shopify.auth import build_auth
from adapters.source import OrderSource, PageRequest, Paginator, Record
from adapters.types import SHOPIFY

log = structlog.get_logger(__name__)

CALL_LIMIT_HEADER = "X-Shopify-Shop-Api-Call-Limit"
MAX_PAGE_SIZE = 250
# Every plan restores its bucket in 20 s (40 at 2/s, 80 at 4/s, Plus 400 at 20/s), so the leak
# rate follows from the size the header reports.
BUCKET_DRAIN_SECONDS = 20.0
# Keep this share of the bucket free for other workers of the same app; above it, wait.
BUCKET_HEADROOM = 0.2


class LinkHeaderPaginator(Paginator):
    """Follow ``rel="next"`` exactly as given: Shopify forbids changing page_info or adding filters."""

    def next_page(
        self, request: PageRequest, response: httpx.Response, records: list[Record]
    ) -> PageRequest | None:
        link = response.links.get("next")
        if not link or not link.get("url"):
            return None
        return PageRequest(link["url"])


def parse_call_limit(value: str | None) -> tuple[int, int] | None:
    """``"32/40"`` as ``(32, 40)``; None when absent or malformed."""
    if not value:
        return None
    used, _, size = value.partition("/")
    try:
        parsed = int(used.strip()), int(size.strip())
    except ValueError:
        return None
    return parsed if parsed[1] > 0 else None


def format_since(since: datetime) -> str:
    """ISO 8601 with an explicit offset; a naive ``since`` is taken as UTC."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return since.isoformat(timespec="seconds")


class ShopifySource(OrderSource):
    """Orders of one Shopify store over the Admin REST API."""

    platform = SHOPIFY
    orders_path = "orders.json"
    replication_key = "updated_at"
    page_size = MAX_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE

    def base_url(self) -> str:
        return f"{self.settings.url.rstrip('/')}/admin/api/{self.settings.api_version}/"

    def auth(self) -> httpx.Auth:
        return build_auth(self.settings)

    def paginator(self) -> Paginator:
        return LinkHeaderPaginator()

    def listing_params(self, since: datetime | None) -> dict[str, Any]:
        # status=any: the default (open) would hide closed and cancelled orders, which we must see
        params: dict[str, Any] = {
            "status": "any",
            "limit": self.page_limit(),
            "order": "updated_at asc",
        }
        if since is not None:
            params["updated_at_min"] = format_since(since)
        return params

    def parse_page(self, response: httpx.Response) -> list[Record]:
        body = _json_object(response)
        orders = body.get("orders")
        if not isinstance(orders, list):
            raise TransientError("shopify answered a page without 'orders'", service=self.platform)
        return [order for order in orders if isinstance(order, dict)]

    def order_path(self, shop_order_id: str) -> str:
        return f"orders/{shop_order_id}.json"

    def parse_order(self, response: httpx.Response) -> Record:
        order = _json_object(response).get("order")
        if not isinstance(order, dict):
            raise TransientError("shopify answered without an 'order' object", service=self.platform)
        return order

    def observe(self, response: httpx.Response) -> None:
        # After a 429 the loop already waits Retry-After; waiting here too would double it.
        if response.status_code == 429:
            return
        wait = self.bucket_wait(response.headers.get(CALL_LIMIT_HEADER))
        if wait > 0:
            log.info(
                "shop_request_throttled",
                platform=self.platform,
                source=self.settings.name,
                wait_seconds=round(wait, 2),
            )
            self._sleep(wait)

    @staticmethod
    def bucket_wait(call_limit: str | None) -> float:
        """Seconds to let the bucket drain back below the headroom mark (0 when below it)."""
        parsed = parse_call_limit(call_limit)
        if parsed is None:
            return 0.0
        used, size = parsed
        mark = size * (1 - BUCKET_HEADROOM)
        if used <= mark:
            return 0.0
        return (used - mark) / (size / BUCKET_DRAIN_SECONDS)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise TransientError("shopify answered a body that is not JSON", service=SHOPIFY) from None
    if not isinstance(body, dict):
        raise TransientError("shopify answered a non-object body", service=SHOPIFY)
    return body
