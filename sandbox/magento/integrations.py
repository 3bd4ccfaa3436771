"""Who may call a simulated Magento store: its integration, checked as Magento 2.4.4+ checks it.

Every shop has one integration with the four values Magento shows (System > Extensions >
Integrations): consumer key and secret, access token and access token secret. A request proves it
comes from the integration in one of two ways:

* **OAuth 1.0a** (the default): ``Authorization: OAuth ...`` signed with HMAC-SHA256 (or
  HMAC-SHA1) over the method, the URL and the query parameters, with the key
  ``consumer_secret&access_token_secret`` (``Magento\\Framework\\Oauth\\Helper\\Request``,
  ``Magento\\Framework\\Oauth\\Oauth::_validateSignature``). Query parameters are read Magento's
  way: split at ``&`` and ``=``, URL-decoded, one value per name; ``oauth_*`` only from the header.
  The base string then follows RFC 5849 (Magento signs with Laminas OAuth, which sorts names
  naturally: the same order as the RFC's byte order unless an index has two digits, which our
  clients never send; UNCONFIRMED beyond that).
* **Bearer**: ``Authorization: Bearer <access token>``, refused unless the store's
  ``oauth/consumer/enable_integration_as_bearer`` is on ("disabled by default" since 2.4.4).

Refusals answer 401 in Magento's error shape. A timestamp more than 600 seconds from now is refused
(Magento's ``TIME_DEVIATION``; its code checks only the future side, the simulator both, UNCONFIRMED
but the safe side for a client to be tested against), and a nonce the consumer used before is
refused ("The nonce is already being used by the consumer with ID %1").
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Final
from urllib.parse import unquote, unquote_plus

from sandbox.magento.errors import MagentoError
from sandbox.oauth1 import (
    SIGNATURE_METHODS,
    NonceBook,
    hmac_signature,
    percent_encode,
    rfc_base_string,
    signatures_match,
)

UNAUTHORIZED: Final = "The consumer isn't authorized to access %resources."
UNAUTHORIZED_PARAMETERS: Final = {"resources": "Magento_Sales::sales"}
TIME_DEVIATION_SECONDS: Final = 600
BEARER_SETTING: Final = "oauth/consumer/enable_integration_as_bearer"
REQUIRED: Final = (
    "oauth_consumer_key",
    "oauth_signature",
    "oauth_signature_method",
    "oauth_nonce",
    "oauth_timestamp",
    "oauth_token",
)


@dataclass(frozen=True)
class Integration:
    """The four values of one Magento integration."""

    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str

    @classmethod
    def for_shop(cls, shop: str) -> Integration:
        """The integration a shop gets when none was given: readable, and the same on every run."""
        return cls(
            consumer_key=f"{shop}-consumer-key",
            consumer_secret=f"{shop}-consumer-secret",
            access_token=f"{shop}-access-token",
            access_token_secret=f"{shop}-access-token-secret",
        )

    def as_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class SignedRequest:
    """What the check reads of one API request."""

    method: str
    url: str  # scheme://host[:port]/path as the client addressed it, no query
    raw_query: str
    headers: Mapping[str, str]


def refused(message: str = UNAUTHORIZED) -> MagentoError:
    return MagentoError(401, message, UNAUTHORIZED_PARAMETERS if message == UNAUTHORIZED else None)


class IntegrationRegistry:
    """Each shop's integration and its ``enable_integration_as_bearer`` setting; checks requests."""

    def __init__(
        self,
        *,
        integration: Integration | None,
        integration_as_bearer: bool,
        wall_clock: Callable[[], float],
    ) -> None:
        """``integration``: the one every shop has (tests); None gives each shop its own
        (:meth:`Integration.for_shop`). ``integration_as_bearer``: the setting of new shops."""
        self._fixed = integration
        self._default_bearer = integration_as_bearer
        self._lock = threading.Lock()
        self._bearer: dict[str, bool] = {}
        self.nonces = NonceBook(window_seconds=TIME_DEVIATION_SECONDS, wall_clock=wall_clock)

    def integration(self, shop: str) -> Integration:
        return self._fixed or Integration.for_shop(shop)

    def bearer_allowed(self, shop: str) -> bool:
        with self._lock:
            return self._bearer.get(shop, self._default_bearer)

    def allow_bearer(self, shop: str, enabled: bool) -> None:
        """``bin/magento config:set oauth/consumer/enable_integration_as_bearer 1`` (or 0)."""
        with self._lock:
            self._bearer[shop] = enabled

    def clear(self) -> None:
        with self._lock:
            self._bearer.clear()
        self.nonces.clear()

    # -- the check ---------------------------------------------------------------------------

    def check(self, shop: str, request: SignedRequest) -> None:
        """Raise the 401 ``MagentoError`` a request without a valid integration credential gets."""
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.strip().partition(" ")
        if scheme.lower() == "bearer":
            self._check_bearer(shop, credential.strip())
        elif "oauth " in header.lower():
            self._check_signature(shop, request, header)
        else:
            raise refused()

    def _check_bearer(self, shop: str, token: str) -> None:
        expected = self.integration(shop).access_token
        if not self.bearer_allowed(shop) or not hmac.compare_digest(token.encode(), expected.encode()):
            raise refused()

    def _check_signature(self, shop: str, request: SignedRequest, header: str) -> None:
        protocol = magento_header_parameters(header)
        missing = [name for name in REQUIRED if not protocol.get(name)]
        if missing:
            raise refused(f'"{missing[0]}" is required. Enter and try again.')
        version = protocol.get("oauth_version")
        if version is not None and version != "1.0":
            raise refused(f'The "{version}" Oauth version isn\'t supported.')
        method = protocol["oauth_signature_method"]
        if method not in SIGNATURE_METHODS:
            raise refused(f'Signature method "{method}" is not supported.')
        integration = self.integration(shop)
        if not hmac.compare_digest(
            protocol["oauth_consumer_key"].encode(), integration.consumer_key.encode()
        ):
            raise refused("A consumer having the specified key does not exist.")
        if not hmac.compare_digest(protocol["oauth_token"].encode(), integration.access_token.encode()):
            raise refused("Specified token does not exist.")
        if not self.nonces.timestamp_ok(protocol["oauth_timestamp"]):
            raise refused("Incorrect timestamp value in the oauth_timestamp parameter.")
        signed = {name: value for name, value in protocol.items() if name != "oauth_signature"}
        signed.update(magento_request_parameters(request))
        base = rfc_base_string(request.method, request.url, signed.items())
        key = (
            f"{percent_encode(integration.consumer_secret)}&{percent_encode(integration.access_token_secret)}"
        )
        if not signatures_match(hmac_signature(base, key, method), protocol["oauth_signature"]):
            raise refused("The signature is invalid. Verify and try again.")
        if not self.nonces.use(
            integration.consumer_key, protocol["oauth_nonce"], protocol["oauth_timestamp"]
        ):
            raise refused("The nonce is already being used by the consumer with ID 1.")


def magento_header_parameters(header: str) -> dict[str, str]:
    """``Helper\\Request::_processHeader``: after ``OAuth ``, split at commas and the first ``=``,
    keep ``oauth_*`` names, strip quotes, raw-URL-decode."""
    position = header.lower().find("oauth ")
    found: dict[str, str] = {}
    for item in header[position + 6 :].split(","):
        name, sep, value = item.strip().partition("=")
        if sep and name.startswith("oauth_"):
            found[unquote(name)] = unquote(value.strip('"'))
    return found


def magento_request_parameters(request: SignedRequest) -> dict[str, str]:
    """The non-protocol parameters Magento signs, from the query string.

    ``_extractQueryStringParams``: split at ``&``, a pair that does not split into exactly two at
    ``=`` is skipped, names and values ``urldecode``-d, a later value of a name replaces an earlier.
    (Magento signs a form body's parameters too; the simulated routes take JSON, as Magento's REST
    routes do, so there is none to read.)
    """
    found: dict[str, str] = {}
    for item in request.raw_query.split("&") if request.raw_query else []:
        parts = item.split("=")
        if len(parts) != 2:
            continue
        name, value = unquote_plus(parts[0]), unquote_plus(parts[1])
        if not name.startswith("oauth_"):
            found[name] = value
    return found
