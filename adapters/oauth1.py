"""OAuth 1.0a request signing (RFC 5849), for Magento 2.4.4+ integrations and WooCommerce over http.

Magento signs every request with the integration's four values in the ``Authorization`` header
(HMAC-SHA256, as Adobe's documentation shows); WooCommerce over plain http takes a one-legged
signature (no token) in the query string. Both follow the RFC: the signature base string is the
method, the base URI (scheme and host lower case, default port dropped, no query) and every query,
form-body and ``oauth_*`` parameter, each percent-encoded by RFC 3986's unreserved set, sorted by
name then value. The key is ``consumer_secret&token_secret`` (an empty token secret when one-legged).

A fresh nonce and timestamp per request: Magento and WooCommerce refuse a nonce they have seen, and
WooCommerce a timestamp more than 15 minutes off.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

SignatureMethod = Literal["HMAC-SHA256", "HMAC-SHA1"]
Placement = Literal["header", "query"]

FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
_DIGESTS: Final = {"HMAC-SHA256": hashlib.sha256, "HMAC-SHA1": hashlib.sha1}
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def percent_encode(value: str) -> str:
    """RFC 5849 3.6: UTF-8, then every byte outside ``A-Z a-z 0-9 - . _ ~`` as ``%XX`` (upper case)."""
    return quote(value, safe="-._~")


def base_string_uri(url: str) -> str:
    """RFC 5849 3.4.1.2: scheme and host in lower case, the default port left out, no query or fragment."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def normalized_parameters(parameters: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 3.4.1.3.2: encode each name and value, sort by name then value, join with ``=`` and ``&``."""
    encoded = sorted((percent_encode(name), percent_encode(value)) for name, value in parameters)
    return "&".join(f"{name}={value}" for name, value in encoded)


def signature_base_string(method: str, url: str, parameters: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 3.4.1: ``METHOD&encoded base URI&encoded normalized parameters``."""
    return "&".join(
        (
            method.upper(),
            percent_encode(base_string_uri(url)),
            percent_encode(normalized_parameters(parameters)),
        )
    )


def sign(base_string: str, *, consumer_secret: str, token_secret: str, method: SignatureMethod) -> str:
    """RFC 5849 3.4.2: base64 of the HMAC of the base string, keyed ``consumer_secret&token_secret``."""
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}"
    digest = hmac.new(key.encode(), base_string.encode(), _DIGESTS[method]).digest()
    return base64.b64encode(digest).decode("ascii")


def _nonce() -> str:
    return secrets.token_hex(16)


def _timestamp() -> str:
    return str(int(time.time()))


@dataclass(frozen=True, kw_only=True)
class OAuth1Credentials:
    """The values an integration shows; a one-legged client (WooCommerce) has no token."""

    consumer_key: str
    consumer_secret: str
    token: str | None = None
    token_secret: str = ""


@dataclass(kw_only=True)
class OAuth1Auth(httpx.Auth):
    """Signs each request; ``placement`` puts the ``oauth_*`` parameters in the header or the query."""

    credentials: OAuth1Credentials
    placement: Placement = "header"
    signature_method: SignatureMethod = "HMAC-SHA256"
    nonce: Callable[[], str] = field(default=_nonce)
    timestamp: Callable[[], str] = field(default=_timestamp)

    def oauth_parameters(self) -> list[tuple[str, str]]:
        """The protocol parameters of one request, before its signature."""
        parameters = [
            ("oauth_consumer_key", self.credentials.consumer_key),
            ("oauth_nonce", self.nonce()),
            ("oauth_signature_method", self.signature_method),
            ("oauth_timestamp", self.timestamp()),
            ("oauth_version", "1.0"),
        ]
        if self.credentials.token is not None:
            parameters.append(("oauth_token", self.credentials.token))
        return parameters

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        oauth = self.oauth_parameters()
        url = str(request.url)
        query = parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True)
        body: list[tuple[str, str]] = []
        if request.headers.get("Content-Type", "").split(";")[0].strip() == FORM_CONTENT_TYPE:
            body = parse_qsl(request.read().decode(), keep_blank_values=True)
        base = signature_base_string(request.method, url, [*query, *body, *oauth])
        signature = sign(
            base,
            consumer_secret=self.credentials.consumer_secret,
            token_secret=self.credentials.token_secret,
            method=self.signature_method,
        )
        signed = [*oauth, ("oauth_signature", signature)]
        if self.placement == "header":
            request.headers["Authorization"] = "OAuth " + ", ".join(
                f'{percent_encode(name)}="{percent_encode(value)}"' for name, value in signed
            )
        else:
            request.url = request.url.copy_merge_params(dict(signed))
        yield request
