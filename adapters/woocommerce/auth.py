"""WooCommerce REST authentication: OAuth 1.0a over http, Basic auth or query-string keys over https.

WooCommerce authenticates by the scheme of the request (``WC_REST_Authentication::authenticate``):
over plain http only an OAuth 1.0a "one-legged" signature counts (consumer key and secret, no
token, the ``oauth_*`` parameters in the query string, HMAC-SHA256 here; WooCommerce also takes
HMAC-SHA1); over https the keys themselves, as Basic auth or as query parameters. ``auth`` picks:

* ``auto`` (default): OAuth 1.0a for an ``http://`` store, Basic for ``https://`` (with the sticky
  switch to query keys below);
* ``basic``, ``query``, ``oauth1``: that scheme, whatever the URL says (``basic`` never switches).

Some hosts (CGI/FastCGI PHP, some proxies) drop the ``Authorization`` header before WordPress sees
it; WooCommerce then answers 401 "Consumer key is missing" and its docs say to send
``consumer_key``/``consumer_secret`` as query parameters instead. The switch is sticky: once a
server showed it drops the header, every later request uses the query string.

Query strings reach web server access logs, so they are only used when asked for or needed; our
own errors strip them (``adapters.errors.ApiError``) and no log line here carries a URL.
"""

from __future__ import annotations

from collections.abc import Generator
from urllib.parse import urlsplit

import httpx
import structlog

from adapters.auth import required_secrets
from adapters.oauth1 import OAuth1Auth, OAuth1Credentials
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
    """Basic auth with the consumer key and secret; query-string keys when the header is dropped
    (``switch_to_query``) or from the start (``query_string``)."""

    requires_response_body = True  # the 401 body tells "key missing" apart from "key wrong"

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        *,
        query_string: bool = False,
        switch_to_query: bool = True,
        source: str = "",
    ) -> None:
        self._source = source  # for the log line only
        self._key = consumer_key
        self._secret = consumer_secret
        self._basic = httpx.BasicAuth(consumer_key, consumer_secret)
        self.query_string = query_string
        self.switch_to_query = switch_to_query

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
        if self.switch_to_query and says_key_missing(response):
            self.query_string = True
            log.warning(
                "shop_auth_switched",
                platform=WOOCOMMERCE,
                source=self._source,
                scheme="query_string",
                reason="the server dropped the Authorization header",
            )
            yield self._with_query_keys(request)


def one_legged_auth(consumer_key: str, consumer_secret: str) -> OAuth1Auth:
    """OAuth 1.0a without a token, signed into the query string with HMAC-SHA256."""
    credentials = OAuth1Credentials(consumer_key=consumer_key, consumer_secret=consumer_secret)
    return OAuth1Auth(credentials=credentials, placement="query", signature_method="HMAC-SHA256")


def is_plain_http(url: str) -> bool:
    return urlsplit(url.strip()).scheme.lower() == "http"


def build_auth(connection: ShopConnection, *, query_string: bool = False) -> httpx.Auth:
    """The scheme ``connection`` asks for; ``ConfigError`` when its credentials are missing.

    ``query_string``: send the keys as query parameters from the first request on, as
    ``auth = "query"`` does (for hosts known to drop the Authorization header).
    """
    key, secret = required_secrets(connection, "consumer_key", "consumer_secret")
    scheme = "query" if query_string else connection.auth_scheme()
    if scheme == "oauth1" or (scheme == "auto" and is_plain_http(connection.url)):
        return one_legged_auth(key, secret)
    return WooCommerceAuth(
        key,
        secret,
        query_string=scheme == "query",
        switch_to_query=scheme == "auto",
        source=connection.name,
    )
