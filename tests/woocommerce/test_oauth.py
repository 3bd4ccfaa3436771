"""WooCommerce over plain http: OAuth 1.0a one-legged signatures, checked by WooCommerce's rules.

The official Python wrapper (``woocommerce.API``) must work unchanged against the simulator on a real
HTTP server, a wrongly signed, stale or replayed request must be refused with WooCommerce's answer,
and the adapter must pick the scheme ``auth`` asks for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import requests
from fastapi import FastAPI
from fastapi.testclient import TestClient
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_QUERY, Client
from requests_oauthlib import OAuth1
from woocommerce import API
from woocommerce.oauth import OAuth

from adapters.woocommerce.source import WooCommerceSource
from sandbox.clock import Clock
from sandbox.delivery import WebhookDispatcher
from sandbox.woocommerce import WooCommerceSimulator
from sandbox.woocommerce.gate import FailNext
from tests.support.liveserver import serve
from tests.woocommerce.conftest import HTTPS_URL, KEY, SECRET, SHOP, AppTransport, woo_settings
from worker.errors import AuthenticationFailed

MakeSource = Callable[..., WooCommerceSource]
INVALID_SIGNATURE = "Invalid signature - provided signature does not match."


@pytest.fixture
def live(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


def wrapper(live: str, *, secret: str = SECRET) -> API:
    return API(url=f"{live}/woocommerce/{SHOP}", consumer_key=KEY, consumer_secret=secret, version="wc/v3")


def orders_url(live: str) -> str:
    return f"{live}/woocommerce/{SHOP}/wp-json/wc/v3/orders"


def paid_orders(sim: WooCommerceSimulator, clock: Clock, count: int) -> list[int]:
    ids = []
    for number in range(count):
        ids.append(sim.create_order(SHOP, line_items=[{"sku": f"SKU-{number}"}])["id"])
        clock.advance(timedelta(seconds=1))
    return ids


def test_the_official_wrapper_works_unchanged_over_http(
    sim: WooCommerceSimulator, clock: Clock, live: str
) -> None:
    ids = paid_orders(sim, clock, 3)
    api = wrapper(live)
    # as a polling client asks: a value with characters to encode, and the wrapper sends each
    # parameter twice (in the signed URL and again as requests' params; PHP keeps the last)
    params = {"per_page": 2, "orderby": "id", "order": "asc", "modified_after": "2020-01-01T00:00:00"}
    listed = api.get("orders", params=params)
    assert listed.status_code == 200, listed.text
    assert [order["id"] for order in listed.json()] == ids[:2]
    assert listed.headers["X-WP-TotalPages"] == "2"
    assert "oauth_" not in listed.headers["Link"]  # no signature or nonce echoed back
    assert api.get(f"orders/{ids[0]}").json()["id"] == ids[0]
    updated = api.put(f"orders/{ids[0]}", {"status": "completed"})
    assert (updated.status_code, updated.json()["status"]) == (200, "completed")
    noted = api.post(f"orders/{ids[0]}/notes", {"note": "Shipped with DHL 3S123", "customer_note": True})
    assert noted.status_code == 201, noted.text
    assert api.delete(f"orders/{ids[1]}").json()["status"] == "trash"


def test_the_wrapper_with_a_wrong_secret_is_refused(sim: WooCommerceSimulator, live: str) -> None:
    answer = wrapper(live, secret="cs_wrong").get("orders")
    assert answer.status_code == 401
    assert answer.json() == {
        "code": "woocommerce_rest_authentication_error",
        "message": INVALID_SIGNATURE,
        "data": {"status": 401},
    }


def test_an_unknown_key_is_refused(live: str) -> None:
    url = OAuth(
        url=orders_url(live), consumer_key="ck_unknown", consumer_secret=SECRET, version="wc/v3"
    ).get_oauth_url()
    answer = requests.get(url, timeout=10)
    assert (answer.status_code, answer.json()["message"]) == (401, "Consumer key is invalid.")


@pytest.mark.parametrize("offset", [-16 * 60, +16 * 60])
def test_a_timestamp_outside_15_minutes_is_refused(live: str, offset: int) -> None:
    signer = OAuth(
        url=orders_url(live),
        consumer_key=KEY,
        consumer_secret=SECRET,
        version="wc/v3",
        oauth_timestamp=int(time.time()) + offset,
    )
    answer = requests.get(signer.get_oauth_url(), timeout=10)
    assert (answer.status_code, answer.json()["message"]) == (401, "Invalid timestamp.")


def test_a_replayed_request_is_refused(live: str) -> None:
    signed = OAuth(
        url=orders_url(live), consumer_key=KEY, consumer_secret=SECRET, version="wc/v3"
    ).get_oauth_url()
    assert requests.get(signed, timeout=10).status_code == 200
    replay = requests.get(signed, timeout=10)
    assert (replay.status_code, replay.json()["message"]) == (
        401,
        "Invalid nonce - nonce has already been used.",
    )


def test_a_changed_query_parameter_breaks_the_signature(live: str) -> None:
    signed = OAuth(
        url=f"{orders_url(live)}?per_page=5", consumer_key=KEY, consumer_secret=SECRET, version="wc/v3"
    ).get_oauth_url()
    answer = requests.get(signed.replace("per_page=5", "per_page=6"), timeout=10)
    assert (answer.status_code, answer.json()["message"]) == (401, INVALID_SIGNATURE)


def test_hmac_sha1_and_an_oauth_header_are_accepted_too(live: str) -> None:
    """WooCommerce takes HMAC-SHA1 as well, and reads oauth_* from an Authorization header."""
    sha1 = Client(
        KEY, client_secret=SECRET, signature_method=SIGNATURE_HMAC_SHA1, signature_type=SIGNATURE_TYPE_QUERY
    )
    uri, _, _ = sha1.sign(f"{orders_url(live)}?per_page=3&status=any")
    assert requests.get(uri, timeout=10).status_code == 200
    header = OAuth1(KEY, client_secret=SECRET, signature_method="HMAC-SHA256", signature_type="auth_header")
    assert requests.get(orders_url(live), params={"page": 1}, auth=header, timeout=10).status_code == 200


def test_an_unsupported_signature_method_is_refused(live: str) -> None:
    plain = Client(
        KEY, client_secret=SECRET, signature_method="PLAINTEXT", signature_type=SIGNATURE_TYPE_QUERY
    )
    uri, _, _ = plain.sign(orders_url(live))
    answer = requests.get(uri, timeout=10)
    assert (answer.status_code, answer.json()["message"]) == (
        401,
        "Invalid signature - signature method is invalid.",
    )


# -- the adapter --------------------------------------------------------------------------------


def signed_with(request: httpx.Request) -> str | None:
    return request.url.params.get("oauth_signature_method")


def test_auto_over_http_signs_in_the_query_string(
    sim: WooCommerceSimulator, clock: Clock, make_source: MakeSource, transport: AppTransport
) -> None:
    ids = paid_orders(sim, clock, 2)
    sim.faults.fail_next = [FailNext(status=503)]
    assert [order["id"] for order in make_source().iter_orders()] == ids
    assert len(transport.requests) == 2  # the 503, then the retry, each signed afresh
    assert [signed_with(request) for request in transport.requests] == ["HMAC-SHA256"] * 2
    assert len({request.url.params["oauth_nonce"] for request in transport.requests}) == 2
    assert all("Authorization" not in request.headers for request in transport.requests)
    assert all("consumer_secret" not in request.url.params for request in transport.requests)


@pytest.mark.parametrize(
    ("auth", "url", "expect"),
    [
        ("auto", HTTPS_URL, "basic"),
        ("basic", None, "basic"),
        ("query", None, "query"),
        ("oauth1", HTTPS_URL, "oauth1"),
    ],
)
def test_each_scheme_sends_what_it_says(
    sim: WooCommerceSimulator,
    clock: Clock,
    make_source: MakeSource,
    transport: AppTransport,
    auth: str,
    url: str | None,
    expect: str,
) -> None:
    paid_orders(sim, clock, 1)
    overrides: dict[str, Any] = {"auth": auth, **({"url": url} if url else {})}
    assert len(list(make_source(settings=woo_settings(**overrides)).iter_orders())) == 1
    [request] = transport.requests
    sent = {
        "basic": request.headers.get("Authorization", "").startswith("Basic "),
        "query": request.url.params.get("consumer_key") == KEY,
        "oauth1": signed_with(request) == "HMAC-SHA256",
    }
    assert [name for name, present in sent.items() if present] == [expect]


def test_basic_forced_does_not_switch_to_query_keys(
    sim: WooCommerceSimulator, make_source: MakeSource, transport: AppTransport
) -> None:
    sim.faults.strip_authorization = True
    source = make_source(settings=woo_settings(auth="basic"))
    with pytest.raises(AuthenticationFailed) as caught:
        list(source.iter_orders())
    assert caught.value.error_message == "Consumer key is missing."
    assert len(transport.requests) == 1


def test_each_shop_has_its_own_key_and_the_sandbox_tells_them() -> None:
    sim = WooCommerceSimulator(clock=Clock(), dispatcher=WebhookDispatcher())
    sim.seed_demo()
    app = FastAPI()
    app.include_router(sim.api, prefix="/woocommerce")
    app.include_router(sim.control, prefix="/_sandbox/woocommerce")
    control = TestClient(app)
    assert control.get("/_sandbox/woocommerce/shops/other-shop/credentials").json() == {
        "consumer_key": "ck_other-shop",
        "consumer_secret": "cs_other-shop",
    }
    assert set(sim.credentials()) == {"demo-shop", "other-shop"}
    assert control.get("/_sandbox/woocommerce/credentials").json() == sim.credentials()
    keys = sim.credentials()["demo-shop"]
    settings = woo_settings(
        url="http://sandbox.test/woocommerce/demo-shop",
        consumer_key=keys["consumer_key"],
        consumer_secret=keys["consumer_secret"],
    )
    with WooCommerceSource(settings, transport=AppTransport(app)) as source:
        assert len(list(source.iter_orders())) == 4
    other = woo_settings(
        url="http://sandbox.test/woocommerce/demo-shop",
        consumer_key="ck_other-shop",
        consumer_secret="cs_other-shop",
    )
    with WooCommerceSource(other, transport=AppTransport(app)) as source, pytest.raises(AuthenticationFailed):
        list(source.iter_orders())
