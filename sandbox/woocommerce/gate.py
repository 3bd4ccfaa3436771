"""What a request meets before its route: switchable faults, an optional rate limit, then the keys.

Keys: a request carrying OAuth parameters is checked as WooCommerce checks one over plain http
(oauth.py: one-legged signature in the query string or the header, with the shop's key). Without
them, Basic auth or ``consumer_key``/``consumer_secret`` query parameters, as WooCommerce takes them
over https (the sandbox serves plain http but plays an https store for these, as before).
Each shop's key pair is the simulator's ``consumer_key``/``consumer_secret`` when given, else its
own (``ck_<shop>``, ``cs_<shop>``); Basic and query keys accept any non-empty pair when the
simulator was given none (a signature cannot be checked without the shop's secret).

The faults are kept in the shared ``sandbox.faults`` and ``sandbox.ratelimit`` modules; ``WooFaults``
speaks the WooCommerce control API's words for them (``fail_next``, ``rate_limit_per_minute``).
"""

from __future__ import annotations

import base64
import binascii
import glob
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.clock import Clock
from sandbox.faults import FaultInjector, FaultRule
from sandbox.ratelimit import FixedWindowLimiter
from sandbox.woocommerce.errors import WooError
from sandbox.woocommerce.oauth import OAuthRequest, OAuthVerifier, wants_oauth

TOO_MANY_REQUESTS = "woocommerce_rest_too_many_requests"
_ESCAPED = re.compile(r"\[([*?\[])\]")  # what glob.escape wraps in brackets


@dataclass
class FailNext:
    """Answer one matching request with ``status`` (``method``/``path_suffix`` narrow it down)."""

    status: int
    retry_after: float | None = None
    method: str | None = None
    path_suffix: str | None = None  # e.g. "/notes"

    def rule(self) -> FaultRule:
        """The shared fault rule: one error answer, on any path ending in ``path_suffix``."""
        path = None if self.path_suffix is None else "*" + glob.escape(self.path_suffix)
        return FaultRule(
            kind="error",
            method=self.method,
            path=path,
            status=self.status,
            count=1,
            retry_after=self.retry_after,
        )

    @classmethod
    def of(cls, rule: FaultRule) -> FailNext:
        suffix = None if rule.path is None else _ESCAPED.sub(r"\1", rule.path.removeprefix("*"))
        return cls(rule.status or 500, rule.retry_after, rule.method, suffix)


class WooFaults:
    """Switchable API misbehaviour. Woo has no rate limit of its own; hosts and WAFs add them.

    ``fail_next`` is answered in order, one per matching request; ``strip_authorization`` is a host
    that drops the Authorization header (CGI PHP).
    """

    def __init__(self, *, clock: Clock) -> None:
        self.injector = FaultInjector()
        self.limiter = FixedWindowLimiter(now=clock.now)
        self.strip_authorization = False

    @property
    def fail_next(self) -> list[FailNext]:
        return [FailNext.of(rule) for rule in self.injector.rules()]

    @fail_next.setter
    def fail_next(self, faults: list[FailNext]) -> None:
        self.injector.clear()
        self.injector.add([fault.rule() for fault in faults])

    @property
    def rate_limit_per_minute(self) -> int | None:
        return self.limiter.limit

    @rate_limit_per_minute.setter
    def rate_limit_per_minute(self, limit: int | None) -> None:
        self.limiter.limit = limit  # the minute's count so far stays

    def clear(self) -> None:
        """No faults and no rate limit (``DELETE /_sandbox/woocommerce/faults``)."""
        self.fail_next = []
        self.rate_limit_per_minute = None
        self.strip_authorization = False

    def reset(self) -> None:
        self.clear()
        self.limiter.reset()

    def as_json(self) -> dict[str, Any]:
        return {
            "fail_next": [asdict(fault) for fault in self.fail_next],
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "strip_authorization": self.strip_authorization,
        }


@dataclass(frozen=True)
class ApiCall:
    """What the gate reads of one API request."""

    shop: str
    method: str
    url: str  # scheme://host[:port]/path as the client addressed it, no query
    path: str
    raw_query: str
    headers: Mapping[str, str]
    query: Mapping[str, str]


def shop_keys(shop: str) -> tuple[str, str]:
    """The key pair a shop has when the simulator was given none: readable and stable."""
    return f"ck_{shop}", f"cs_{shop}"


class ApiGate:
    """Raises the ``WooError`` a request should get before it reaches its route, if any."""

    def __init__(
        self,
        *,
        clock: Clock,
        consumer_key: str | None,
        consumer_secret: str | None,
        wall_clock: Callable[[], float],
    ) -> None:
        """``consumer_key``/``consumer_secret``: every shop's key pair; ``None`` gives each shop its
        own (:func:`shop_keys`) and lets Basic and query keys pass with any non-empty pair.
        ``wall_clock`` judges OAuth timestamps."""
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.faults = WooFaults(clock=clock)
        self.oauth = OAuthVerifier(wall_clock=wall_clock)

    def keys(self, shop: str) -> tuple[str, str]:
        """The shop's consumer key and secret."""
        if self.consumer_key is not None and self.consumer_secret is not None:
            return self.consumer_key, self.consumer_secret
        return shop_keys(shop)

    def check(self, call: ApiCall) -> None:
        fault = self.faults.injector.before(call.method, call.path)
        if fault.status is not None:
            extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            if fault.status == 429:
                raise WooError(429, TOO_MANY_REQUESTS, "Too many requests.", headers=extra)
            raise WooError(
                fault.status, "sandbox_fault", "Service unavailable (sandbox fault).", headers=extra
            )
        wait = self.faults.limiter.acquire()
        if wait is not None:
            raise WooError(429, TOO_MANY_REQUESTS, "Too many requests.", headers={"Retry-After": str(wait)})
        self._authenticate(call)

    def _authenticate(self, call: ApiCall) -> None:
        header = "" if self.faults.strip_authorization else call.headers.get("authorization", "")
        signed = OAuthRequest(
            method=call.method, url=call.url, raw_query=call.raw_query, authorization=header
        )
        if wants_oauth(signed):
            key, secret = self.keys(call.shop)
            self.oauth.check(signed, {key: secret})
            return
        self._check_keys(call.headers, call.query)

    def _check_keys(self, headers: Mapping[str, str], query: Mapping[str, str]) -> None:
        """Basic auth, else ``consumer_key``/``consumer_secret`` in the query (WooCommerce over https)."""
        key = secret = None
        header = headers.get("authorization", "")
        if header.lower().startswith("basic ") and not self.faults.strip_authorization:
            try:
                key, _, secret = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                key = secret = None
        if not key:
            key, secret = query.get("consumer_key"), query.get("consumer_secret")
        if not key:
            raise WooError(401, "woocommerce_rest_authentication_error", "Consumer key is missing.")
        if self.consumer_key is not None and not hmac.compare_digest(key, self.consumer_key):
            raise WooError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if not secret or (
            self.consumer_secret is not None and not hmac.compare_digest(secret, self.consumer_secret)
        ):
            raise WooError(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
