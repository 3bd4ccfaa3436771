"""Shopify Admin API authentication: a token in ``X-Shopify-Access-Token``, from one of two kinds of app.

* A **Dev Dashboard app** (every app made since 2026-01-01) has a client ID and secret. It trades them
  for a token with the client credentials grant (``POST {shop}/admin/oauth/access_token``) that lasts
  about 24 hours (``expires_in``). :class:`ClientCredentialsAuth` keeps that token in the shared store
  (``adapters/shared.py``) until shortly before it runs out, so the worker's processes ask for one
  token between them, not one per message; a 401 gets a new token once before it counts.
* A **legacy custom app** has a permanent ``shpat_`` token: :class:`AccessTokenAuth`.

Neither ever logs a token or a secret, nor puts one in an error.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Generator
from typing import Any, Final

import httpx
import structlog

from adapters.auth import HeaderAuth, required_secrets
from adapters.errors import AuthenticationFailed, ConfigError, RateLimited, TransientError
from adapters.settings import ShopConnection
from adapters.shared import SharedStore
from adapters.types import SHOPIFY

log = structlog.get_logger(__name__)

ACCESS_TOKEN_HEADER: Final = "X-Shopify-Access-Token"
TOKEN_PATH: Final = "/admin/oauth/access_token"
# renew this long before Shopify's expires_in runs out (at most half the token's life)
REFRESH_MARGIN_SECONDS: Final = 300.0
DEFAULT_EXPIRES_IN: Final = 3600.0  # when an answer leaves expires_in out: assume an hour, renew early
# while one process fetches a token the others wait for it, polling, at most this long
TOKEN_LOCK_SECONDS: Final = 10.0
TOKEN_POLL_SECONDS: Final = 0.25


class AccessTokenAuth(HeaderAuth):
    """``X-Shopify-Access-Token: <token>`` (a legacy custom app's permanent Admin API token)."""

    def __init__(self, token: str) -> None:
        super().__init__(ACCESS_TOKEN_HEADER, token)


def app_key(shop_url: str, client_id: str) -> str:
    """The shared-store name of one app on one shop (a hash: no credential in a key)."""
    return hashlib.sha256(f"{shop_url.rstrip('/')}|{client_id}".encode()).hexdigest()[:16]


class ClientCredentialsAuth(httpx.Auth):
    """A token from the client credentials grant, shared through ``store``, renewed on a 401 once."""

    requires_response_body = True  # the token answer is read inside the flow

    def __init__(
        self,
        *,
        shop_url: str,
        client_id: str,
        client_secret: str,
        store: SharedStore,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._token_url = shop_url.rstrip("/") + TOKEN_PATH
        self._client_id = client_id
        self._client_secret = client_secret
        self._store = store
        self._sleep = sleep
        app = app_key(shop_url, client_id)
        self.token_key = f"shopify:token:{app}"
        self._lock_key = f"shopify:token-lock:{app}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._store.get(self.token_key)
        if token is None:
            token = yield from self._fetch_token()
        request.headers[ACCESS_TOKEN_HEADER] = token
        response = yield request
        if response.status_code != 401:
            return
        # expired early, revoked, or the app was reinstalled: one new token, then the answer stands
        self._store.delete(self.token_key, value=token)
        fresh = self._store.get(self.token_key)  # another process may have renewed it already
        if fresh is None or fresh == token:
            fresh = yield from self._fetch_token()
        log.info("shop_token_renewed", platform=SHOPIFY, reason="refused")
        request.headers[ACCESS_TOKEN_HEADER] = fresh
        yield request

    def _fetch_token(self) -> Generator[httpx.Request, httpx.Response, str]:
        holder = uuid.uuid4().hex
        if not self._store.add(self._lock_key, holder, ttl=TOKEN_LOCK_SECONDS):
            waited = 0.0
            while waited < TOKEN_LOCK_SECONDS:  # another process is asking: use what it gets
                self._sleep(TOKEN_POLL_SECONDS)
                waited += TOKEN_POLL_SECONDS
                token = self._store.get(self.token_key)
                if token is not None:
                    return token
            self._store.add(self._lock_key, holder, ttl=TOKEN_LOCK_SECONDS)  # it gave up: our turn
        try:
            response = yield httpx.Request(
                "POST",
                self._token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                },
                headers={"Accept": "application/json"},
            )
            token, ttl = self._read_token(response)
            self._store.set(self.token_key, token, ttl=ttl)
            log.info("shop_token_fetched", platform=SHOPIFY, expires_in_seconds=round(ttl))
            return token
        finally:
            self._store.delete(self._lock_key, value=holder)

    def _read_token(self, response: httpx.Response) -> tuple[str, float]:
        context: dict[str, Any] = {
            "service": SHOPIFY,
            "status": response.status_code,
            "method": "POST",
            "url": self._token_url,
        }
        if response.status_code == 429:
            raise RateLimited("shopify token endpoint rate limit", retry_after=1.0, **context)
        if response.status_code >= 500:
            raise TransientError(f"shopify token endpoint error {response.status_code}", **context)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or not isinstance(body, dict):
            # Shopify answers 400/401 with {"error": ..., "error_description": ...}; never echo the request
            detail = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
            raise AuthenticationFailed(
                "shopify refused the app's client credentials",
                error_message=str(detail or "no token in the answer")[:200],
                **context,
            )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthenticationFailed(
                "shopify answered the token request without a token",
                error_message="no access_token",
                **context,
            )
        try:
            expires_in = float(body.get("expires_in") or DEFAULT_EXPIRES_IN)
        except (TypeError, ValueError):
            expires_in = DEFAULT_EXPIRES_IN
        return token, max(1.0, expires_in - min(REFRESH_MARGIN_SECONDS, expires_in / 2))


def build_auth(
    connection: ShopConnection, *, store: SharedStore, sleep: Callable[[float], None] = time.sleep
) -> httpx.Auth:
    """The scheme ``connection`` asks for; ``ConfigError`` when its credentials are missing."""
    if connection.auth_scheme() == "access_token":
        (token,) = required_secrets(connection, "access_token")
        return AccessTokenAuth(token)
    missing = connection.missing_credentials()
    if missing:
        raise ConfigError(f"source {connection.name!r} (shopify) needs {' and '.join(missing)}")
    assert connection.client_id is not None  # checked above
    assert connection.client_secret is not None
    return ClientCredentialsAuth(
        shop_url=connection.url,
        client_id=connection.client_id,
        client_secret=connection.client_secret.get_secret_value(),
        store=store,
        sleep=sleep,
    )
