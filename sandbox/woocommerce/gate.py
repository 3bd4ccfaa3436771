"""What a request meets before its route: switchable faults, an optional rate limit, then the keys."""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import threading
from collections.abc import Mapping

from sandbox.clock import Clock
from sandbox.woocommerce.state import ApiFaults, WooError


class ApiGate:
    """Raises the ``WooError`` a request should get before it reaches its route, if any."""

    def __init__(self, *, clock: Clock, consumer_key: str | None, consumer_secret: str | None) -> None:
        """``consumer_key``/``consumer_secret``: the only accepted keys; ``None`` accepts any
        non-empty pair."""
        self.clock = clock
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.faults = ApiFaults()
        self._lock = threading.Lock()
        self._window: tuple[int, int] = (0, 0)  # (minute, requests in it) for the optional rate limit

    def reset(self) -> None:
        with self._lock:
            self.faults = ApiFaults()
            self._window = (0, 0)

    def check(self, method: str, path: str, headers: Mapping[str, str], query: Mapping[str, str]) -> None:
        with self._lock:
            fault = next((item for item in self.faults.fail_next if item.matches(method, path)), None)
            if fault is not None:
                self.faults.fail_next.remove(fault)
                extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                if fault.status == 429:
                    raise WooError(
                        429, "woocommerce_rest_too_many_requests", "Too many requests.", headers=extra
                    )
                raise WooError(
                    fault.status, "sandbox_fault", "Service unavailable (sandbox fault).", headers=extra
                )
            limit = self.faults.rate_limit_per_minute
            if limit is not None:
                moment = self.clock.now().timestamp()
                minute = int(moment // 60)
                count = self._window[1] + 1 if self._window[0] == minute else 1
                self._window = (minute, count)
                if count > limit:
                    wait = str(max(1, math.ceil((minute + 1) * 60 - moment)))
                    raise WooError(
                        429,
                        "woocommerce_rest_too_many_requests",
                        "Too many requests.",
                        headers={"Retry-After": wait},
                    )
        self._authenticate(headers, query)

    def _authenticate(self, headers: Mapping[str, str], query: Mapping[str, str]) -> None:
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
