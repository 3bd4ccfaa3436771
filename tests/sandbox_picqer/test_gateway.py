"""The HTTP shell: auth, rate limit, faults, client quirks, the request log, shared control."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from sandbox.app import create_sandbox_app
from sandbox.clock import Clock
from tests.sandbox_picqer.conftest import API, CONTROL, IPOD_GREEN, Api, assert_error
from tests.support.liveserver import serve


@pytest.fixture
def limited(clock: Clock) -> TestClient:
    return TestClient(create_sandbox_app(rate_limit=3, api_key="the-key", clock=clock))


def test_any_non_empty_key_is_accepted_without_api_key(client: TestClient) -> None:
    assert client.get(f"{API}/orders", auth=("whatever", "X")).status_code == 200
    assert_error(client.get(f"{API}/orders", auth=("", "pw")), 401, 3)
    assert_error(client.get(f"{API}/orders"), 401, 3)
    assert_error(client.get(f"{API}/orders", headers={"Authorization": "Basic !!!"}), 401, 3)


def test_only_the_configured_key_is_accepted(limited: TestClient) -> None:
    assert_error(limited.get(f"{API}/orders", auth=("other", "")), 401, 3)
    assert limited.get(f"{API}/orders", auth=("the-key", "")).status_code == 200


def test_rate_limit_headers_and_429_ignores_the_request(limited: TestClient, clock: Clock) -> None:
    api = Api(limited, key="the-key")
    remaining = [api.get("/orders").headers["X-RateLimit-Remaining"] for _ in range(2)]
    assert remaining == ["2", "1"]
    created = api.create_order()  # the third and last request of the minute
    refused = api.post("/orders", {"deliveryname": "x", "deliverycountry": "NL", "products": []})
    assert_error(refused, 429, 28)
    assert (refused.headers["X-RateLimit-Limit"], refused.headers["X-RateLimit-Remaining"]) == ("3", "0")
    # Ignored: nothing stored (the control API is not rate limited).
    orders = limited.get(f"{CONTROL}/orders").json()
    assert [o["idorder"] for o in orders] == [created["idorder"]]
    clock.advance(timedelta(seconds=61))
    assert api.get("/orders").headers["X-RateLimit-Remaining"] == "2"


def test_rate_limit_is_per_api_key_and_settable(client: TestClient) -> None:
    assert client.post(f"{CONTROL}/rate-limit", json={"limit": 1}).json() == {"limit": 1}
    assert client.get(f"{API}/orders", auth=("a", "")).status_code == 200
    assert client.get(f"{API}/orders", auth=("a", "")).status_code == 429
    assert client.get(f"{API}/orders", auth=("b", "")).status_code == 200
    client.post(f"{CONTROL}/rate-limit", json={"limit": None})
    response = client.get(f"{API}/orders", auth=("a", ""))
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response.headers


def test_picqer_php_quirks_trailing_slash_null_body_json_get(api: Api) -> None:
    assert api.post("/tags/", {"title": "Zomer", "color": "#03008a", "inherit": False}).status_code == 201
    idorder = api.create_order()["idorder"]
    processed = api.request(
        "POST", f"/orders/{idorder}/process", content=b"null", headers={"Content-Type": "application/json"}
    )
    assert processed.status_code == 200
    got = api.request("GET", f"/orders/{idorder}/", headers={"Content-Type": "application/json"}, content=b"")
    assert got.status_code == 200
    assert (got.json()["idorder"], got.json()["status"]) == (idorder, "processing")


def test_unknown_endpoint_is_a_picqer_404(api: Api) -> None:
    assert_error(api.get("/nonsense"), 404, 8)
    assert_error(api.request("PATCH", "/orders"), 404, 8)


def test_error_fault_answers_500_before_anything_happens(api: Api, client: TestClient) -> None:
    spec = {"kind": "error", "method": "POST", "path": "/orders", "count": 1}
    assert client.post(f"{CONTROL}/faults", json=spec).status_code == 200
    assert api.get("/orders").status_code == 200  # other methods are not affected
    assert_error(api.post("/orders", {"products": []}), 500, 1)
    assert client.get(f"{CONTROL}/orders").json() == []
    assert api.create_order()["status"] == "concept"  # count 1: the fault has expired
    assert client.get(f"{CONTROL}/faults").json() == {"rules": []}


def test_error_rate_shorthand_with_status(api: Api, client: TestClient) -> None:
    client.post(f"{CONTROL}/faults", json={"error_rate": 1.0, "status": 503, "path": "/orders/*"})
    assert api.get("/orders/1").status_code == 503
    assert api.get("/orders").status_code == 200
    assert client.delete(f"{CONTROL}/faults").status_code == 204
    assert api.get("/orders/1").status_code == 404


def test_slow_fault_delays_the_answer(api: Api, client: TestClient) -> None:
    client.post(f"{CONTROL}/faults", json={"delay": 0.3, "method": "GET", "count": 1})
    started = time.monotonic()
    assert api.get("/orders").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_timeout_after_write_stores_the_order_then_times_out(clock: Clock) -> None:
    app = create_sandbox_app(rate_limit=None, clock=clock)
    body = {
        "deliveryname": "x",
        "deliverycountry": "NL",
        "reference": "#T1",
        "products": [{"idproduct": IPOD_GREEN, "amount": 1}],
    }
    with serve(app) as base_url, httpx.Client(base_url=base_url, auth=("k", ""), timeout=0.2) as client:
        fault = {"timeout_after_write": {"count": 1, "delay": 0.6}, "method": "POST", "path": "/orders"}
        assert client.post(f"{CONTROL}/faults", json=fault).status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            client.post(f"{API}/orders", json=body)
        # Stored although the client gave up: a lookup by reference finds it.
        found = client.get(f"{API}/orders", params={"reference": "#T1"}).json()
        assert len(found) == 1
        assert found[0]["status"] == "concept"


def test_5xx_after_write_stores_the_write(api: Api, client: TestClient) -> None:
    client.post(
        f"{CONTROL}/faults",
        json={"kind": "timeout_after_write", "status": 502, "method": "POST", "path": "/orders", "count": 1},
    )
    response = api.post(
        "/orders",
        {"deliveryname": "x", "deliverycountry": "NL", "products": [{"idproduct": IPOD_GREEN, "amount": 1}]},
    )
    assert_error(response, 502, 1)
    assert len(client.get(f"{CONTROL}/orders").json()) == 1
    assert api.create_order()["status"] == "concept"


def test_invalid_fault_spec_is_400(client: TestClient) -> None:
    assert client.post(f"{CONTROL}/faults", json={"kind": "explode"}).status_code == 400
    assert client.post(f"{CONTROL}/faults", json={"count": 1}).status_code == 400


def test_request_log_counts_requests_per_order(api: Api, client: TestClient) -> None:
    idorder = api.create_order()["idorder"]
    api.post(f"/orders/{idorder}/process")
    api.post(f"/orders/{idorder}/process")
    log = client.get(f"{CONTROL}/requests", params={"path": f"/orders/{idorder}*"}).json()
    assert [(r["method"], r["status"], r["error_code"]) for r in log] == [
        ("POST", 200, None),
        ("POST", 400, 21),
    ]
    assert len(client.get(f"{CONTROL}/requests", params={"method": "POST"}).json()) == 3
    client.delete(f"{CONTROL}/requests")
    assert client.get(f"{CONTROL}/requests").json() == []


def test_shared_clock_and_reset(api: Api, client: TestClient) -> None:
    assert client.post("/_sandbox/clock", json={"set": "2026-03-01T08:00:00+00:00"}).status_code == 200
    client.post("/_sandbox/clock", json={"advance": 90})
    assert api.create_order()["created"] == "2026-03-01 08:01:30"
    assert client.post("/_sandbox/clock", json={"nonsense": 1}).status_code == 422  # an unknown field
    assert client.post("/_sandbox/clock", json={}).status_code == 400  # neither advance nor set
    assert client.post("/_sandbox/reset").json()["seeded"] is True
    assert api.get("/orders").json() == []
    assert len(api.get("/products").json()) == 17
    client.post("/_sandbox/reset", json={"seed": False})
    assert api.get("/products").json() == []


def test_control_products_and_stock(client: TestClient, api: Api) -> None:
    created = client.post(
        f"{CONTROL}/products", json={"productcode": "NEW-1", "name": "New", "price": 9.5, "stock": 7}
    )
    assert created.status_code == 201
    assert created.json()["stock"][0]["freestock"] == 7
    rows = client.post(f"{CONTROL}/products/NEW-1/stock", json={"change": -2}).json()
    assert rows[0]["stock"] == 5
    assert client.post(f"{CONTROL}/products/NOPE/stock", json={"change": 1}).status_code == 404
    assert client.post(f"{CONTROL}/products/NEW-1/stock", content=b"[").status_code == 422
