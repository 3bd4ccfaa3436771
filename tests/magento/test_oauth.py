"""Magento 2.4.4+ authentication: OAuth 1.0a with the integration's four values, bearer only when allowed.

The simulator must take what Magento's documented client takes (``requests-oauthlib``, HMAC-SHA256 in
the Authorization header, on a real HTTP server) and refuse what Magento refuses; the adapter must
sign every request, retries included, and keep its secrets out of errors.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import requests
from fastapi import FastAPI
from fastapi.testclient import TestClient
from requests_oauthlib import OAuth1

from adapters.magento.source import MagentoSource
from sandbox.clock import Clock
from sandbox.delivery import WebhookDispatcher
from sandbox.magento import MagentoSimulator
from sandbox.magento.integrations import BEARER_SETTING, Integration
from tests.magento.conftest import (
    INTEGRATION,
    SHOP,
    ClientTransport,
    SignedByOAuthlib,
    create_order,
    settings,
)
from tests.support.liveserver import serve
from worker.errors import AuthenticationFailed

ORDERS = f"/magento/{SHOP}/rest/V1/orders"
UNAUTHORIZED = "The consumer isn't authorized to access %resources."
SEARCH = {
    "searchCriteria[filter_groups][0][filters][0][field]": "state",
    "searchCriteria[filter_groups][0][filters][0][value]": "processing",
    "searchCriteria[filter_groups][0][filters][0][condition_type]": "eq",
    "searchCriteria[sortOrders][0][field]": "updated_at",
    "searchCriteria[sortOrders][0][direction]": "ASC",
    "searchCriteria[pageSize]": "2",
    "searchCriteria[currentPage]": "1",
}


def documented_client(integration: Integration = INTEGRATION, **changes: str) -> OAuth1:
    """The client Adobe's documentation shows: requests-oauthlib, HMAC-SHA256, header."""
    values = {**integration.as_json(), **changes}
    return OAuth1(
        values["consumer_key"],
        client_secret=values["consumer_secret"],
        resource_owner_key=values["access_token"],
        resource_owner_secret=values["access_token_secret"],
        signature_method="HMAC-SHA256",
        signature_type="auth_header",
    )


@pytest.fixture
def live(simulator: MagentoSimulator) -> Iterator[str]:
    app = FastAPI()
    app.include_router(simulator.api, prefix="/magento")
    app.include_router(simulator.control, prefix="/_sandbox/magento")
    with serve(app) as url:
        yield url


def test_the_documented_client_lists_reads_and_ships_on_a_real_server(client: TestClient, live: str) -> None:
    ids = [create_order(client)["entity_id"] for _ in range(3)]
    listed = requests.get(f"{live}{ORDERS}", params=SEARCH, auth=documented_client(), timeout=10)
    assert listed.status_code == 200, listed.text
    assert [item["entity_id"] for item in listed.json()["items"]] == ids[:2]
    assert listed.json()["total_count"] == 3
    one = requests.get(f"{live}{ORDERS}/{ids[0]}", auth=documented_client(), timeout=10)
    assert one.json()["entity_id"] == ids[0]
    item_id = one.json()["items"][0]["item_id"]
    shipped = requests.post(
        f"{live}/magento/{SHOP}/rest/default/V1/order/{ids[0]}/ship",
        json={"items": [{"order_item_id": item_id, "qty": 1}], "tracks": []},
        auth=documented_client(),
        timeout=10,
    )
    assert shipped.status_code == 200, shipped.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"consumer_secret": "not-the-secret"}, "The signature is invalid. Verify and try again."),
        ({"access_token_secret": "not-the-secret"}, "The signature is invalid. Verify and try again."),
        ({"consumer_key": "someone-else"}, "A consumer having the specified key does not exist."),
        ({"access_token": "someone-elses"}, "Specified token does not exist."),
    ],
)
def test_a_wrongly_signed_request_is_refused(
    client: TestClient, live: str, changes: dict[str, str], message: str
) -> None:
    create_order(client)
    answer = requests.get(f"{live}{ORDERS}", params=SEARCH, auth=documented_client(**changes), timeout=10)
    assert (answer.status_code, answer.json()["message"]) == (401, message)


def test_the_signature_covers_the_query_string(client: TestClient) -> None:
    create_order(client)
    signed = httpx.Request("GET", f"http://testserver{ORDERS}", params=SEARCH)
    header = next(SignedByOAuthlib().auth_flow(signed)).headers["Authorization"]
    tampered = {**SEARCH, "searchCriteria[pageSize]": "100"}
    answer = client.get(ORDERS, params=tampered, headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.json()["message"] == "The signature is invalid. Verify and try again."


@pytest.mark.parametrize("offset", [-3600, +3600])
def test_a_timestamp_far_from_now_is_refused(client: TestClient, offset: int) -> None:
    create_order(client)
    auth = SignedByOAuthlib(timestamp=str(int(time.time()) + offset))
    answer = client.get(ORDERS, auth=auth)
    assert answer.status_code == 401
    assert "oauth_timestamp" in answer.json()["message"]


def test_a_nonce_is_used_once(client: TestClient) -> None:
    create_order(client)
    assert client.get(ORDERS, auth=SignedByOAuthlib(nonce="n0nce-used-once")).status_code == 200
    replay = client.get(ORDERS, auth=SignedByOAuthlib(nonce="n0nce-used-once"))
    assert replay.status_code == 401
    assert replay.json()["message"].startswith("The nonce is already being used")


def test_the_sandbox_clock_does_not_judge_timestamps(client: TestClient, clock: Clock) -> None:
    """Tests move the sandbox clock by days; clients sign with the real time."""
    create_order(client)
    clock.advance(timedelta(days=30))
    assert client.get(ORDERS, auth=SignedByOAuthlib()).status_code == 200


def test_bearer_is_refused_until_the_store_allows_it(client: TestClient) -> None:
    create_order(client)
    bearer = {"Authorization": f"Bearer {INTEGRATION.access_token}"}
    refused = client.get(ORDERS, headers=bearer)
    assert (refused.status_code, refused.json()["message"]) == (401, UNAUTHORIZED)
    switched = client.post(f"/_sandbox/magento/shops/{SHOP}/config", json={BEARER_SETTING: 1})
    assert switched.json() == {BEARER_SETTING: 1}
    assert client.get(ORDERS, headers=bearer).status_code == 200
    assert client.get(ORDERS, headers={"Authorization": "Bearer another-token"}).status_code == 401
    client.post(f"/_sandbox/magento/shops/{SHOP}/config", json={BEARER_SETTING: 0})
    assert client.get(ORDERS, headers=bearer).status_code == 401
    unknown = client.post(f"/_sandbox/magento/shops/{SHOP}/config", json={"web/secure/use_in_adminhtml": 1})
    assert unknown.status_code == 400


def test_the_adapter_with_auth_bearer_works_where_the_store_allows_it(
    client: TestClient, transport: ClientTransport
) -> None:
    created = create_order(client)
    bearer_settings = settings(
        auth="bearer", consumer_key=None, consumer_secret=None, access_token_secret=None
    )
    with MagentoSource(bearer_settings, transport=transport, sleep=lambda _: None) as source:
        with pytest.raises(AuthenticationFailed):
            source.get_order(str(created["entity_id"]))
        client.post(f"/_sandbox/magento/shops/{SHOP}/config", json={BEARER_SETTING: True})
        assert source.get_order(str(created["entity_id"]))["entity_id"] == created["entity_id"]


def test_the_adapter_signs_each_request_and_each_retry_afresh(
    client: TestClient, transport: ClientTransport, sleeps: list[float]
) -> None:
    create_order(client)
    headers: list[str] = []
    transport.after = lambda request: headers.append(request.headers["Authorization"])
    client.post("/_sandbox/magento/faults", json={"status": 503, "count": 1})
    with MagentoSource(settings(), transport=transport, sleep=sleeps.append) as source:
        assert len(list(source.iter_orders(None))) == 1
    assert len(headers) == 2
    assert len(sleeps) == 1
    assert all(header.startswith("OAuth ") for header in headers)
    assert all('oauth_signature_method="HMAC-SHA256"' in header for header in headers)
    nonces = {part for header in headers for part in header.split(", ") if part.startswith("oauth_nonce=")}
    assert len(nonces) == 2


def test_refusals_carry_no_secret(client: TestClient, transport: ClientTransport) -> None:
    create_order(client)
    wrong = settings(consumer_secret="a-secret-that-must-not-show")
    source = MagentoSource(wrong, transport=transport, sleep=lambda _: None)
    with source, pytest.raises(AuthenticationFailed) as caught:
        list(source.iter_orders(None))
    error = caught.value
    assert error.status == 401
    for text in (str(error), error.reason, repr(error.__dict__)):
        for secret in ("a-secret-that-must-not-show", INTEGRATION.access_token_secret, "oauth_signature"):
            assert secret not in text


def test_each_shop_has_its_own_integration_and_the_sandbox_tells_them() -> None:
    simulator = MagentoSimulator(clock=Clock(), dispatcher=WebhookDispatcher())
    simulator.seed_demo()
    app = FastAPI()
    app.include_router(simulator.api, prefix="/magento")
    app.include_router(simulator.control, prefix="/_sandbox/magento")
    with TestClient(app) as client:
        shown: dict[str, Any] = client.get("/_sandbox/magento/shops/other-shop/integration").json()
        assert shown == Integration.for_shop("other-shop").as_json()
        assert set(simulator.credentials()) == {"demo-shop", "other-shop"}
        assert client.get("/_sandbox/magento/credentials").json() == simulator.credentials()
        demo = Integration(**simulator.credentials()["demo-shop"])
        assert client.get("/magento/demo-shop/rest/V1/orders", auth=SignedByOAuthlib(demo)).status_code == 200
        # another shop's integration does not open this one
        other = SignedByOAuthlib(Integration.for_shop("other-shop"))
        assert client.get("/magento/demo-shop/rest/V1/orders", auth=other).status_code == 401
