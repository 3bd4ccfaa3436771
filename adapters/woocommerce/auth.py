"""WooCommerce REST authentication: Basic auth, or the consumer keys in the query string.

Some hosts (CGI/FastCGI PHP, some proxies) drop the ``Authorization`` header before WordPress sees
it; WooCommerce then answers 401 "Consumer key is missing" and its docs say to send
``consumer_key``/``consumer_secret`` as query parameters instead. The switch is sticky: once a
server showed it drops the header, every later request uses the query string.

Query strings reach web server access logs, so they are only used when asked for or needed; our
own errors strip them (``adapters.errors.ApiError``) and no log line here carries a URL.
"""

from __future__ import annotations

from collections.abc import Generator

import httpx
import structlog

from adapters.auth import required_secrets
from adapters.settings import ShopConnection
from adapters.types import WOOCOMMERCE

log = structlog.get_logger(__name__)

# what WooCommerce answers when no credentials reached it (see class-wc-rest-authentication.php)
MISSING_KEY_PHRASE = "consumer key is missing"


def says_key_missing(response: httpx.Response) -> bool:
    """True when a 401 means "the credentials never arrived", not "the credentials are wrong"."""
    if response.status_code != 401:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    message = body.get("message", "") if isinstance(body, dict) else ""
    return isinstance(message, str) and MISSING_KEY_PHRASE in message.lower()


class WooCommerceAuth(httpx.Auth):
    """Basic auth with the consumer key and secret; query-string keys when the header is dropped."""

    requires_response_body = True  # the 401 body tells "key missing" apart from "key wrong"

    def __init__(
        self, consumer_key: str, consumer_secret: str, *, query_string: bool = False, source: str = ""
    ) -> None:
        self._source = source  # for the log line only
        self._key = consumer_key
        self._secret = consumer_secret
        self._basic = httpx.BasicAuth(consumer_key, consumer_secret)
        self.query_string = query_string

    def _with_query_keys(self, request: httpx.Request) -> httpx.Request:
        request.headers.pop("Authorization", None)
        request.url = request.url.copy_merge_params(
            {"consumer_key": self._key, "consumer_secret": self._secret}
        )
        return request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.query_string:
            yield self._with_query_keys(request)
            return
        response = yield next(self._basic.auth_flow(request))
        if says_key_missing(response):
            self.query_string = True
            log.warning(
                "shop_auth_switched",
                platform=WOOCOMMERCE,
                source=self._source,
                scheme="query_string",
                reason="the server dropped the Authorization header",
            )
            yield self._with_query_keys(request)


def build_auth(connection: ShopConnection, *, query_string: bool = False) -> httpx.Auth:
    """The scheme ``connection`` asks for; ``ConfigError`` when its credentials are missing.

    ``query_string``: send the keys as query parameters from the first request on.
    """
    key, secret = required_secrets(connection, "consumer_key", "consumer_secret")
    return WooCommerceAuth(key, secret, query_string=query_string, source=connection.name)
