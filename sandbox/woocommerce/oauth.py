"""WooCommerce's OAuth 1.0a "one-legged" check, as ``WC_REST_Authentication`` does it over plain http.

From ``class-wc-rest-authentication.php`` (``get_oauth_parameters``, ``check_oauth_signature``,
``join_with_equals_sign``, ``normalize_parameters``, ``check_oauth_timestamp_and_nonce``):

* the parameters are PHP's ``$_GET`` (a repeated name keeps its last value; ``a[]=``/``a[k]=``
  become arrays), merged with any ``oauth_*`` from an ``Authorization: OAuth ...`` header;
* the base string is ``METHOD&rawurlencode(home URL + request path)&`` and, for each parameter but
  ``oauth_signature`` in name order, ``rawurlencode(rawurlencode(name)=rawurlencode(value))``
  joined with ``%26`` (array members as ``name%5Bkey%5D``): the RFC 5849 string for plain
  parameters, with no lower-casing of the URL;
* the key is ``consumer_secret&`` (no token); HMAC-SHA1 or HMAC-SHA256;
* then the timestamp must be within 15 minutes of now, and the nonce unused by this key.

Every refusal is a 401 ``woocommerce_rest_authentication_error`` with WooCommerce's message
("Consumer key is invalid.", "Invalid signature - provided signature does not match.",
"Invalid timestamp.", "Invalid nonce - nonce has already been used.").

Unlike WooCommerce, every nonce is remembered (Woo keeps one per timestamp second, so a nonce can be
replayed after another request in the same second): the simulator errs on the strict side.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias
from urllib.parse import unquote, unquote_plus

from sandbox.oauth1 import SIGNATURE_METHODS, NonceBook, hmac_signature, percent_encode, signatures_match
from sandbox.woocommerce.errors import WooError

AUTH_ERROR: Final = "woocommerce_rest_authentication_error"
WINDOW_SECONDS: Final = 15 * 60
REQUIRED: Final = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
_HEADER_PARAMETER: Final = "oauth_"

PhpValue: TypeAlias = str | dict[str, "PhpValue"]  # a $_GET value: a string or an array


@dataclass(frozen=True)
class OAuthRequest:
    """What the check reads of one request."""

    method: str
    url: str  # the URL the client addressed, without the query: the "home URL + path"
    raw_query: str
    authorization: str  # the Authorization header as PHP sees it ("" when stripped)


def wants_oauth(request: OAuthRequest) -> bool:
    """Whether the request carries any OAuth parameter (Woo then answers OAuth errors)."""
    parameters = oauth_parameters(request)
    return any(parameters.get(name) for name in REQUIRED)


def oauth_parameters(request: OAuthRequest) -> dict[str, PhpValue]:
    """``get_oauth_parameters``: ``$_GET`` merged with the header's ``oauth_*`` values."""
    parameters = php_query(request.raw_query)
    parameters.update(parse_header(request.authorization))
    return parameters


class OAuthVerifier:
    """Checks one-legged signatures against the keys of each shop."""

    def __init__(self, *, wall_clock: Callable[[], float]) -> None:
        self.nonces = NonceBook(window_seconds=WINDOW_SECONDS, wall_clock=wall_clock)

    def check(self, request: OAuthRequest, keys: Mapping[str, str]) -> None:
        """Raise the ``WooError`` WooCommerce would answer; ``keys`` maps consumer key to secret."""
        parameters = oauth_parameters(request)
        missing = [name for name in REQUIRED if not _text(parameters.get(name))]
        if missing:
            noun = "parameter" if len(missing) == 1 else "parameters"
            raise WooError(
                401,
                "woocommerce_rest_authentication_missing_parameter",
                f"Missing OAuth {noun} {', '.join(missing)}",
            )
        consumer_key = _text(parameters["oauth_consumer_key"])
        secret = next(
            (s for k, s in keys.items() if hmac.compare_digest(k.encode(), consumer_key.encode())), None
        )
        if secret is None:
            raise WooError(401, AUTH_ERROR, "Consumer key is invalid.")
        self._check_signature(request, parameters, secret)
        timestamp, nonce = _text(parameters["oauth_timestamp"]), _text(parameters["oauth_nonce"])
        if not self.nonces.timestamp_ok(timestamp):
            raise WooError(401, AUTH_ERROR, "Invalid timestamp.")
        if not self.nonces.use(consumer_key, nonce, timestamp):
            raise WooError(401, AUTH_ERROR, "Invalid nonce - nonce has already been used.")

    @staticmethod
    def _check_signature(request: OAuthRequest, parameters: dict[str, PhpValue], secret: str) -> None:
        given = unquote(_text(parameters.pop("oauth_signature")).replace(" ", "+"))
        method = _text(parameters.get("oauth_signature_method"))
        base = woo_base_string(request.method, request.url, parameters)
        if method not in SIGNATURE_METHODS:
            raise WooError(401, AUTH_ERROR, "Invalid signature - signature method is invalid.")
        if not signatures_match(hmac_signature(base, f"{secret}&", method), given):
            raise WooError(401, AUTH_ERROR, "Invalid signature - provided signature does not match.")

    def clear(self) -> None:
        self.nonces.clear()


def woo_base_string(method: str, url: str, parameters: Mapping[str, PhpValue]) -> str:
    """``check_oauth_signature``'s string to sign (``oauth_signature`` already removed)."""
    parts: list[str] = []
    for name in sorted(parameters):  # uksort(..., 'strcmp'): byte order of the decoded names
        _join(percent_encode(name), parameters[name], parts)
    return f"{method.upper()}&{percent_encode(url)}&{'%26'.join(parts)}"


def _join(name: str, value: PhpValue, parts: list[str]) -> None:
    """``join_with_equals_sign``: nested keys as ``name%5Bkey%5D``, each pair encoded once more."""
    if isinstance(value, dict):
        for key, inner in value.items():
            _join(f"{name}%5B{key}%5D", inner, parts)
    else:
        parts.append(percent_encode(f"{name}={percent_encode(value)}"))


def php_query(raw_query: str) -> dict[str, PhpValue]:
    """PHP's ``parse_str`` as far as REST clients use it: a later value of a name wins, and
    ``a[]=x``/``a[k]=x`` build arrays (``[]`` takes the next integer index)."""
    parsed: dict[str, PhpValue] = {}
    for item in raw_query.split("&") if raw_query else []:
        if not item:
            continue
        raw_name, _, raw_value = item.partition("=")
        name, value = unquote_plus(raw_name), unquote_plus(raw_value)
        base, bracket, rest = name.partition("[")
        if not bracket or "]" not in rest or not base:
            parsed[name] = value
            continue
        keys = [base] + [segment.split("]", 1)[0] for segment in ("[" + rest).split("[")[1:]]
        _assign(parsed, keys, value)
    return parsed


def _assign(target: dict[str, PhpValue], keys: list[str], value: str) -> None:
    head, tail = keys[0], keys[1:]
    if not tail:
        target[head if head else str(_next_index(target))] = value
        return
    key = head if head else str(_next_index(target))
    child = target.get(key)
    if not isinstance(child, dict):
        child = {}
        target[key] = child
    _assign(child, tail, value)


def _next_index(target: dict[str, PhpValue]) -> int:
    indexes = [int(key) for key in target if key.isdigit()]
    return max(indexes) + 1 if indexes else 0


def parse_header(header: str) -> dict[str, PhpValue]:
    """``parse_header``: ``oauth_*="value"`` pairs after ``OAuth ``, ``urldecode``-d."""
    if not header.startswith("OAuth "):
        return {}
    found: dict[str, PhpValue] = {}
    for item in header[6:].split(","):
        name, sep, value = item.strip().partition("=")
        if sep and name.startswith(_HEADER_PARAMETER):
            found[name] = unquote_plus(value.strip('"'))
    return found


def _text(value: PhpValue | None) -> str:
    return value if isinstance(value, str) else ""
