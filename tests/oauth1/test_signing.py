"""Our OAuth 1.0a signatures against oauthlib, a reference RFC 5849 implementation that is not ours.

Each request is signed by :class:`adapters.oauth1.OAuth1Auth` with a fixed nonce and timestamp, then
checked two ways: oauthlib's client, given the same nonce and timestamp, computes the same signature;
and oauthlib's server-side verifier accepts the request as sent (and refuses it with a wrong secret).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import pytest
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_QUERY, Client
from oauthlib.oauth1.rfc5849 import signature as reference
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header

from adapters.oauth1 import (
    OAuth1Auth,
    OAuth1Credentials,
    base_string_uri,
    percent_encode,
    signature_base_string,
)

NONCE = "7d8f3e4a9b2c1d0e"
TIMESTAMP = "1764400000"
MAGENTO = OAuth1Credentials(
    consumer_key="ck_magento", consumer_secret="cs+magento/=", token="at_magento", token_secret="ats&magento"
)
WOO = OAuth1Credentials(consumer_key="ck_woo", consumer_secret="cs_woo")
SEARCH = (
    "http://shop.example.de/rest/V1/orders?searchCriteria%5BfilterGroups%5D%5B0%5D%5Bfilters%5D%5B0%5D"
    "%5Bfield%5D=updated_at&searchCriteria%5BfilterGroups%5D%5B0%5D%5Bfilters%5D%5B0%5D%5Bvalue%5D="
    "2026-11-01%2010%3A00%3A00&searchCriteria%5BpageSize%5D=50&searchCriteria%5BcurrentPage%5D=1"
)


def _signed(auth: OAuth1Auth, request: httpx.Request) -> httpx.Request:
    return next(auth.auth_flow(request))


def _auth(credentials: OAuth1Credentials, **options: object) -> OAuth1Auth:
    return OAuth1Auth(
        credentials=credentials,
        nonce=lambda: NONCE,
        timestamp=lambda: TIMESTAMP,
        **options,  # type: ignore[arg-type]
    )


def _magento_reference() -> Client:
    """oauthlib's client with the Magento credentials, the nonce and the timestamp we sign with."""
    return Client(
        MAGENTO.consumer_key,
        client_secret=MAGENTO.consumer_secret,
        resource_owner_key=MAGENTO.token,
        resource_owner_secret=MAGENTO.token_secret,
        signature_method=SIGNATURE_HMAC_SHA256,
        nonce=NONCE,
        timestamp=TIMESTAMP,
    )


def _header_parameters(request: httpx.Request) -> dict[str, str]:
    # oauthlib's header parser leaves the values percent-encoded, as they are on the wire
    return {name: unquote(value) for name, value in _oauth_header(request.headers["Authorization"]).items()}


def _header_parameters_of(header: str) -> dict[str, str]:
    return {name: unquote(value) for name, value in _oauth_header(header).items()}


def _oauth_header(header: str) -> dict[str, str]:
    return dict(parse_authorization_header(header))


class _ServerRequest:
    """What oauthlib's verifiers read: the method, the URI, and every parameter that was signed."""

    def __init__(self, request: httpx.Request, oauth: dict[str, str]) -> None:
        self.http_method = request.method
        self.uri = str(request.url)
        self.signature = oauth["oauth_signature"]
        query = parse_qsl(urlsplit(self.uri).query, keep_blank_values=True)
        body = (
            parse_qsl(request.content.decode(), keep_blank_values=True)
            if request.headers.get("Content-Type") == "application/x-www-form-urlencoded"
            else []
        )
        in_query = {name for name, _ in query}
        self.params = [
            *query,
            *body,
            *((name, value) for name, value in oauth.items() if name not in in_query and name != "realm"),
        ]
        self.params = [(name, value) for name, value in self.params if name != "oauth_signature"]


@pytest.mark.parametrize(
    ("method", "url", "content"),
    [
        ("GET", SEARCH, None),
        ("GET", "http://shop.example.de/rest/default/V1/orders/42", None),
        ("POST", "https://shop.example.de:8443/rest/V1/order/42/ship", b'{"items": []}'),
        ("GET", "http://shop.example.de/rest/V1/orders?q=%C3%A9t%C3%A9%20%2B%20more&empty=", None),
    ],
)
def test_magento_header_signature_matches_oauthlib(method: str, url: str, content: bytes | None) -> None:
    request = _signed(
        _auth(MAGENTO),
        httpx.Request(method, url, content=content, headers={"Content-Type": "application/json"}),
    )
    ours = _header_parameters(request)
    expected = _magento_reference().sign(url, http_method=method)[1]
    assert ours["oauth_signature"] == _header_parameters_of(expected["Authorization"])["oauth_signature"]
    assert ours["oauth_token"] == "at_magento"
    assert ours["oauth_signature_method"] == "HMAC-SHA256"
    server = _ServerRequest(request, ours)
    assert reference.verify_hmac_sha256(server, MAGENTO.consumer_secret, MAGENTO.token_secret)
    assert not reference.verify_hmac_sha256(server, MAGENTO.consumer_secret, "wrong")


def test_form_body_parameters_are_signed() -> None:
    url = "http://shop.example.de/rest/V1/thing"
    request = _signed(
        _auth(MAGENTO),
        httpx.Request("POST", url, data={"b": "2 3", "a": "1"}),
    )
    ours = _header_parameters(request)
    expected = _magento_reference().sign(
        url,
        http_method="POST",
        body="b=2+3&a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )[1]
    assert ours["oauth_signature"] == _header_parameters_of(expected["Authorization"])["oauth_signature"]


@pytest.mark.parametrize(
    ("ours", "theirs"), [("HMAC-SHA256", SIGNATURE_HMAC_SHA256), ("HMAC-SHA1", SIGNATURE_HMAC_SHA1)]
)
def test_woocommerce_one_legged_query_signature_matches_oauthlib(ours: str, theirs: str) -> None:
    url = "http://shop.example.be/wp-json/wc/v3/orders?modified_after=2026-11-01T10%3A00%3A00&per_page=100&page=2"
    request = _signed(_auth(WOO, placement="query", signature_method=ours), httpx.Request("GET", url))
    assert "Authorization" not in request.headers
    query = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
    assert query["per_page"] == "100"
    assert query["modified_after"] == "2026-11-01T10:00:00"
    assert "oauth_token" not in query
    signed_url = Client(
        WOO.consumer_key,
        client_secret=WOO.consumer_secret,
        signature_method=theirs,
        signature_type=SIGNATURE_TYPE_QUERY,
        nonce=NONCE,
        timestamp=TIMESTAMP,
    ).sign(url, http_method="GET")[0]
    assert query["oauth_signature"] == dict(parse_qsl(urlsplit(signed_url).query))["oauth_signature"]
    oauth = {name: value for name, value in query.items() if name.startswith("oauth_")}
    server = _ServerRequest(request, oauth)
    verify = reference.verify_hmac_sha256 if ours == "HMAC-SHA256" else reference.verify_hmac_sha1
    assert verify(server, WOO.consumer_secret, None)
    assert not verify(server, "cs_other", None)


def test_each_request_gets_a_fresh_nonce() -> None:
    auth = OAuth1Auth(credentials=MAGENTO)
    first = _header_parameters(_signed(auth, httpx.Request("GET", "http://shop.example.de/rest/V1/orders")))
    second = _header_parameters(_signed(auth, httpx.Request("GET", "http://shop.example.de/rest/V1/orders")))
    assert first["oauth_nonce"] != second["oauth_nonce"]
    assert first["oauth_signature"] != second["oauth_signature"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Shop.Example.DE:80/rest/V1/orders?x=1#top", "http://shop.example.de/rest/V1/orders"),
        ("https://shop.example.de:443/rest", "https://shop.example.de/rest"),
        (
            "http://127.0.0.1:8700/magento/de/rest/V1/orders",
            "http://127.0.0.1:8700/magento/de/rest/V1/orders",
        ),
    ],
)
def test_base_string_uri(url: str, expected: str) -> None:
    assert base_string_uri(url) == expected


def test_base_string_of_rfc_5849_example() -> None:
    # RFC 5849 section 3.4.1.1, with its parameters as section 3.4.1.3.1 lists them
    parameters = [
        ("b5", "=%3D"),
        ("a3", "a"),
        ("c@", ""),
        ("a2", "r b"),
        ("oauth_consumer_key", "9djdj82h48djs9d2"),
        ("oauth_token", "kkk9d7dh3k39sjv7"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "7d8f3e4a"),
        ("c2", ""),
        ("a3", "2 q"),
    ]
    assert signature_base_string("post", "http://example.com/request", parameters) == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540"
        "%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3D"
        "HMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
    )
    assert percent_encode("é ~+") == "%C3%A9%20~%2B"
