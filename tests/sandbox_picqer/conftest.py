"""Fixtures: the sandbox app in-process, a pinned clock, and a webhook catcher."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from sandbox.app import create_sandbox_app
from sandbox.clock import Clock
from sandbox.picqer.simulator import PicqerSimulator

API = "/picqer/api/v1"
CONTROL = "/_sandbox/picqer"
START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)

# Seed ids (sandbox/picqer/seed.py).
MAIN, OVERFLOW = 101, 102
VAT_HIGH = 11
ORDERFIELD = 31
TAG_WEBSHOP, TAG_SHOPIFY = 301, 302
IPOD_GREEN, IPOD_RED = 2001, 2002
TEE = 2013  # 3 in Main, 2 in Overflow
SOLD_OUT = 2014  # no stock anywhere
CUSTOMER = 4001


@dataclass
class Catcher:
    """An httpx transport that records every webhook POST and answers ``status``."""

    status: int = 200
    received: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return httpx.Response(self.status)

    def events(self) -> list[str]:
        return [json.loads(r.content)["event"] for r in self.received]

    def bodies(self, event: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.received if json.loads(r.content)["event"] == event]


class Api:
    """Picqer calls with Basic auth (the key as user name), paths relative to /api/v1."""

    def __init__(self, client: TestClient, key: str = "test-key") -> None:
        self.client = client
        self.auth = (key, "")

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, API + path, auth=self.auth, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def order(self, idorder: int) -> dict[str, Any]:
        response = self.get(f"/orders/{idorder}")
        assert response.status_code == 200
        return dict(response.json())

    def create_order(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "deliveryname": "John Strijbos",
            "deliveryaddress": "Vrije Water 12",
            "deliveryzipcode": "3928 DM",
            "deliverycity": "Zeist",
            "deliverycountry": "NL",
            "products": [{"idproduct": IPOD_GREEN, "amount": 1}],
        }
        body.update(overrides)
        response = self.post("/orders", body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def processed_order(self, **overrides: Any) -> dict[str, Any]:
        idorder = self.create_order(**overrides)["idorder"]
        response = self.post(f"/orders/{idorder}/process")
        assert response.status_code == 200, response.text
        # Picqer answers before its background processing shows; a client checks back with a GET
        return dict(self.get(f"/orders/{idorder}").json())

    def stock(self, idproduct: int, idwarehouse: int = MAIN) -> dict[str, Any]:
        rows = self.get(f"/products/{idproduct}/stock").json()
        return dict(next(row for row in rows if row["idwarehouse"] == idwarehouse))


@pytest.fixture
def clock() -> Clock:
    clock = Clock()
    clock.set(START)
    return clock


@pytest.fixture
def catcher() -> Catcher:
    return Catcher()


@pytest.fixture
def client(clock: Clock, catcher: Catcher) -> Iterator[TestClient]:
    app = create_sandbox_app(
        rate_limit=None, clock=clock, webhook_transport=httpx.MockTransport(catcher.handler)
    )
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture
def sim(client: TestClient) -> PicqerSimulator:
    simulator = client.app.state.simulators["picqer"]  # type: ignore[attr-defined]
    assert isinstance(simulator, PicqerSimulator)
    return simulator


def assert_error(response: httpx.Response, status: int, code: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] is True
    assert body["error_code"] == code
    assert isinstance(body["error_message"], str)
    assert body["error_message"]
