"""OAuth 1.0a (RFC 5849) as the simulated shops check it: our own code, shared by no client.

The sandbox imports nothing of ``adapters/``, so a mistake in our request signing cannot hide behind
the same mistake in the simulator's check. This module holds the parts Magento and WooCommerce
agree on: percent-encoding, the base string URI, the HMAC and a memory of used nonces. How each
platform gathers the signed parameters (and, for WooCommerce, builds its own base string) lives
with that platform's simulator.

Timestamps are judged by the wall clock (``time.time``), never by the sandbox's settable clock:
clients sign with their own wall clock, and tests move the sandbox clock by days.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Callable, Iterable
from typing import Final
from urllib.parse import quote, urlsplit

SIGNATURE_METHODS: Final = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def percent_encode(value: str) -> str:
    """RFC 3986 unreserved characters kept, every other UTF-8 byte as ``%XX`` (PHP's rawurlencode)."""
    return quote(value, safe="-._~")


def base_string_uri(url: str) -> str:
    """RFC 5849 3.4.1.2: lower-case scheme and host, no default port, no query or fragment."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def rfc_base_string(method: str, url: str, parameters: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 3.4.1: method, base URI and the parameters encoded, sorted by name then value."""
    pairs = sorted((percent_encode(name), percent_encode(value)) for name, value in parameters)
    normalized = "&".join(f"{name}={value}" for name, value in pairs)
    return "&".join((method.upper(), percent_encode(base_string_uri(url)), percent_encode(normalized)))


def hmac_signature(base_string: str, key: str, method: str) -> str:
    """base64 of the HMAC of ``base_string``; ``key`` is already ``consumer_secret&token_secret``."""
    digest = hmac.new(key.encode(), base_string.encode(), SIGNATURE_METHODS[method]).digest()
    return base64.b64encode(digest).decode("ascii")


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


class NonceBook:
    """Nonces a consumer has used, remembered as long as their timestamp could still be accepted.

    A nonce whose timestamp fell out of the window can be forgotten: its request would be refused
    for its timestamp anyway.
    """

    def __init__(self, *, window_seconds: int, wall_clock: Callable[[], float]) -> None:
        self.window_seconds = window_seconds
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._used: dict[str, dict[str, int]] = {}  # consumer key -> nonce -> timestamp

    def timestamp_ok(self, timestamp: str) -> bool:
        """An integer within ``window_seconds`` of now, either side."""
        if not timestamp.isdigit():
            return False
        return abs(int(timestamp) - self._wall_clock()) <= self.window_seconds

    def use(self, consumer_key: str, nonce: str, timestamp: str) -> bool:
        """Record ``nonce``; False when this consumer used it before (a replay)."""
        with self._lock:
            oldest = self._wall_clock() - self.window_seconds
            used = self._used.setdefault(consumer_key, {})
            for stale in [seen for seen, at in used.items() if at < oldest]:
                del used[stale]
            if nonce in used:
                return False
            used[nonce] = int(timestamp)
            return True

    def clear(self) -> None:
        with self._lock:
            self._used.clear()
