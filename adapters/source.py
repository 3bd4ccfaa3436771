"""The declared shop source: the request / validate / parse / advance loop, written once.

A platform subclass mostly declares (in the spirit of the Singer SDK): its ``platform`` name, the
``orders_path``, the ``replication_key``, its ``page_size`` (and the most it may ask for), how to
authenticate (its ``auth.py``), a paginator, how to turn a ``since`` into query parameters, and how
to read records off a page. The loop here sends the requests,
waits out rate limits, backs off on 5xx and timeouts, detects pagination loops, and yields each
order once per run.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

import httpx
import structlog

from adapters.errors import (
    ApiRejected,
    AuthenticationFailed,
    OutcomeUnknown,
    RateLimited,
    TransientError,
)
from adapters.retry import SHOP_REQUEST, call_with_retries
from adapters.settings import DEFAULT_USER_AGENT, ShopConnection
from adapters.shared import MEMORY_STORE, SharedStore
from adapters.types import Platform

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_RATE_LIMIT_WAIT = 1.0  # seconds, when a 429 carries no Retry-After

Record = dict[str, Any]


@dataclass(frozen=True)
class PageRequest:
    """One page to fetch: a path relative to the source's base URL (or an absolute URL) and params."""

    url: str
    params: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        return self.url + "?" + "&".join(f"{key}={self.params[key]}" for key in sorted(self.params))


class Paginator(ABC):
    """Strategy: where the next page is, given the page just read. ``None`` ends the listing."""

    @abstractmethod
    def next_page(
        self, request: PageRequest, response: httpx.Response, records: list[Record]
    ) -> PageRequest | None:
        """The request for the page after ``request``, or None when ``response`` was the last."""


class PaginationLoopError(TransientError):
    """The shop handed out a page we already read: stop instead of looping forever."""


def retry_after_seconds(response: httpx.Response, default: float) -> float:
    """``Retry-After`` in seconds (Shopify sends fractions), or ``default``."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return default
    try:
        return max(0.0, float(raw))
    except ValueError:
        return default


class OrderSource(ABC):
    """One shop's orders API. Subclasses declare; this class runs the loop."""

    platform: ClassVar[Platform]
    orders_path: ClassVar[str]
    replication_key: ClassVar[str]
    primary_key: ClassVar[str] = "id"
    # orders per listing page: the constructor's ``page_size=`` (or an assignment) overrides it
    page_size: int = 100
    max_page_size: ClassVar[int | None] = None  # the most the platform serves per page, if it caps it

    def __init__(
        self,
        settings: ShopConnection,
        *,
        page_size: int | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_attempts: int = SHOP_REQUEST.attempts,
        user_agent: str = DEFAULT_USER_AGENT,
        shared: SharedStore | None = None,
    ) -> None:
        self.settings = settings
        # how many orders the running listing will yield, when the platform says so on its first
        # page (a progress bar's total); None until then, or when the platform does not tell
        self.listing_total: int | None = None
        # what the worker processes share about this shop (a token, a cost bucket); see adapters/shared.py
        self.shared: SharedStore = shared if shared is not None else MEMORY_STORE
        if page_size is not None:
            self.page_size = page_size
        self._sleep = sleep
        # per request: up to ``max_attempts`` tries on 5xx and timeouts, and as many on 429s
        self._retry_policy = replace(
            SHOP_REQUEST, attempts=max_attempts, max_rate_limit_waits=max_attempts - 1
        )
        self._http = httpx.Client(
            base_url=self.base_url(),
            auth=self.auth(),
            headers={"Accept": "application/json", "User-Agent": user_agent, **self.default_headers()},
            timeout=timeout,
            transport=transport,
        )

    # -- what a platform declares ------------------------------------------------------------

    @abstractmethod
    def base_url(self) -> str:
        """The API root every path is relative to (ends with a slash)."""

    @abstractmethod
    def auth(self) -> httpx.Auth | None:
        """How requests authenticate."""

    def default_headers(self) -> dict[str, str]:
        return {}

    @abstractmethod
    def paginator(self) -> Paginator:
        """A fresh paginator for one listing."""

    @abstractmethod
    def listing_params(self, since: datetime | None) -> dict[str, Any]:
        """Query parameters of the first page for orders changed since ``since``."""

    @abstractmethod
    def parse_page(self, response: httpx.Response) -> list[Record]:
        """The order records on a page."""

    @abstractmethod
    def order_path(self, shop_order_id: str) -> str:
        """The path of one order."""

    def parse_order(self, response: httpx.Response) -> Record:
        """The order in a single-order response (platforms that wrap it override this)."""
        body = response.json()
        if not isinstance(body, dict):
            raise TransientError(f"{self.platform} answered a non-object order", service=self.platform)
        return body

    def page_limit(self) -> int:
        """How many orders to ask for per page: ``page_size``, at least 1 and at most ``max_page_size``."""
        size = max(1, self.page_size)
        return min(size, self.max_page_size) if self.max_page_size is not None else size

    def rate_limit_wait(self, response: httpx.Response) -> float:
        """How long to wait after a 429."""
        return retry_after_seconds(response, DEFAULT_RATE_LIMIT_WAIT)

    def total_of(self, response: httpx.Response) -> int | None:
        """The listing's whole size, read from its first page; None when the platform does not say."""
        return None

    def observe(self, response: httpx.Response) -> None:  # noqa: B027 - an optional hook, not abstract
        """Hook called with every response (Shopify reads its leaky-bucket header here)."""

    # -- the loop, written once --------------------------------------------------------------

    def iter_orders(self, since: datetime | None = None) -> Iterator[Record]:
        """Every order changed since ``since``, each once per run, across all pages."""
        paginator = self.paginator()
        request: PageRequest | None = PageRequest(self.orders_path, self.listing_params(since))
        # what a listing remembers per order and per page, kept small (a resync lists 100,000
        # orders in flat memory): a page by the hash of its request, an order by its id as an int
        seen_pages: set[int] = set()
        seen_ids: set[int | str] = set()
        self.listing_total = None
        first_page = True
        while request is not None:
            fingerprint = hash(request.fingerprint())
            if fingerprint in seen_pages:
                raise PaginationLoopError(
                    f"{self.platform} pagination came back to a page already read", service=self.platform
                )
            seen_pages.add(fingerprint)
            response = self.fetch_page(request)
            if first_page:
                self.listing_total = self.total_of(response)
                first_page = False
            records = self.parse_page(response)
            for record in records:
                key = _compact_id(record.get(self.primary_key))
                if key in seen_ids:
                    continue  # a record that moved between pages while we read them
                seen_ids.add(key)
                yield record
            request = paginator.next_page(request, response, records)

    def fetch_page(self, request: PageRequest) -> httpx.Response:
        """The response holding one listing page (a GraphQL source posts its query here instead)."""
        # params=None, not {}: httpx replaces a URL's own query with an empty params dict, which
        # would drop the query of a next-page URL taken verbatim from a Link header
        return self.send("GET", request.url, params=request.params or None)

    def get_order(self, shop_order_id: str) -> Record:
        """One order as the shop has it now."""
        return self.parse_order(self.send("GET", self.order_path(shop_order_id)))

    def send(self, method: str, url: str, *, idempotent: bool = True, **kwargs: Any) -> httpx.Response:
        """One request, retried as :data:`adapters.retry.SHOP_REQUEST` says; raises the error tree.

        This is the one way a shop adapter sends anything. A write that creates something
        (``idempotent=False``: a note, a shipment) is repeated only after a 429, which is answered
        before anything happens; a 5xx or a lost connection may come after the write was stored,
        so it raises ``OutcomeUnknown`` at once and the caller looks before repeating.
        """
        return call_with_retries(
            partial(self._send_once, method, url, idempotent=idempotent, **kwargs),
            policy=self._retry_policy,
            sleep=self._sleep,
            retry_on=(RateLimited, TransientError),
            give_up_on=(OutcomeUnknown,),
            event="shop_request_retried",
            platform=self.platform,
            source=self.settings.name,
        )

    def _send_once(self, method: str, url: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TransportError as error:
            failure: Exception = TransientError(
                f"{self.platform} request failed: {type(error).__name__}",
                service=self.platform,
                method=method,
                url=str(url),
            )
        else:
            self.observe(response)
            if response.status_code < 400:
                return response
            failure = self._classify(method, response)
        if not idempotent and isinstance(failure, TransientError):
            raise OutcomeUnknown(
                f"{self.platform} {method} outcome unknown: {failure}",
                service=self.platform,
                status=failure.status,
                error_message=failure.error_message,
                method=method,
                url=failure.url,
            ) from failure
        raise failure

    def _classify(self, method: str, response: httpx.Response) -> Exception:
        status = response.status_code
        context: dict[str, Any] = {
            "service": self.platform,
            "status": status,
            "method": method,
            "url": str(response.request.url),
            "error_message": _error_text(response),
        }
        if status == 429:
            return RateLimited(
                f"{self.platform} rate limit", retry_after=self.rate_limit_wait(response), **context
            )
        if status >= 500:
            return TransientError(f"{self.platform} server error {status}", **context)
        if status in (401, 403):
            return AuthenticationFailed(f"{self.platform} refused the credentials", **context)
        return ApiRejected(f"{self.platform} rejected the request", **context)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OrderSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _compact_id(value: Any) -> int | str:
    """An order id as an int when it is one (a fraction of a string's memory), else as text."""
    text = str(value)
    return int(text) if text.isdigit() and str(int(text)) == text else text  # "007" stays text


def _error_text(response: httpx.Response) -> str:
    """A short error text from a shop's error body (never the request, which may hold keys)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        for key in ("message", "errors", "error", "code"):
            if key in body:
                return str(body[key])[:200]
    return str(body)[:200]
