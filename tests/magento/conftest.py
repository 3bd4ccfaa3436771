"""The Magento simulator on its own FastAPI app, and sources that talk to it in-process.

Requests the tests send by hand are signed OAuth 1.0a by oauthlib (:class:`SignedByOAuthlib`), an
implementation independent of both ``adapters/oauth1.py`` and the simulator's check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client
from pydantic import SecretStr

from adapters.magento.source import MagentoSource
from sandbox.clock import Clock
from sandbox.delivery import WebhookDispatcher
from sandbox.magento import MagentoSimulator
from sandbox.magento.integrations import Integration
from tests.conftest import samples_dir
from worker.config import SourceSettings

SHOP = "test-shop"
START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=UTC)
INTEGRATION = Integration(
    consumer_key="3b4c0f8e2a9d41c7b6e5f1a2d3c4b5a6",
    consumer_secret="9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    access_token="a1b2c3d4e5f60718293a4b5c6d7e8f90",
    access_token_secret="0f1e2d3c4b5a69788796a5b4c3d2e1f0",
)


class SignedByOAuthlib(httpx.Auth):
    """OAuth 1.0a in the Authorization header, HMAC-SHA256, signed by oauthlib (query included)."""

    def __init__(self, integration: Integration = INTEGRATION, **options: Any) -> None:
        self._client = Client(
            integration.consumer_key,
            client_secret=integration.consumer_secret,
            resource_owner_key=integration.access_token,
            resource_owner_secret=integration.access_token_secret,
            signature_method=SIGNATURE_HMAC_SHA256,
            **options,
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        _, headers, _ = self._client.sign(str(request.url), http_method=request.method)
        request.headers["Authorization"] = headers["Authorization"]
        yield request


class ClientTransport(httpx.BaseTransport):
    """Sends a source's requests through a TestClient (in-process ASGI); ``after`` runs after each."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.after: Callable[[httpx.Request], None] | None = None
        self.fail_after_send: Callable[[httpx.Request], bool] = lambda request: False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.client.request(
            request.method, str(request.url), headers=dict(request.headers), content=request.read()
        )
        if self.fail_after_send(request):
            raise httpx.ReadTimeout("the answer was lost", request=request)
        if self.after is not None:
            self.after(request)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest.fixture
def clock() -> Clock:
    clock = Clock()
    clock.set(START)
    return clock


@pytest.fixture
def simulator(clock: Clock) -> MagentoSimulator:
    return MagentoSimulator(clock=clock, dispatcher=WebhookDispatcher(), integration=INTEGRATION)


@pytest.fixture
def client(simulator: MagentoSimulator) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(simulator.api, prefix="/magento")
    app.include_router(simulator.control, prefix="/_sandbox/magento")
    with TestClient(app) as client:
        yield client


@pytest.fixture
def transport(client: TestClient) -> ClientTransport:
    return ClientTransport(client)


def settings(
    *, store_code: str = "", token: str = INTEGRATION.access_token, **overrides: Any
) -> SourceSettings:
    """The test shop's source with the integration's four values (OAuth 1.0a, the default)."""
    values: dict[str, Any] = {
        "name": "shop-magento",
        "platform": "magento",
        "url": f"http://testserver/magento/{SHOP}",
        "consumer_key": SecretStr(INTEGRATION.consumer_key),
        "consumer_secret": SecretStr(INTEGRATION.consumer_secret),
        "access_token": SecretStr(token),
        "access_token_secret": SecretStr(INTEGRATION.access_token_secret),
        "store_code": store_code,
    }
    values.update(overrides)
    return SourceSettings(**values)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_source(transport: ClientTransport, sleeps: list[float]) -> Iterator[Callable[..., MagentoSource]]:
    sources: list[MagentoSource] = []

    def make(*, page_size: int = 10, **options: Any) -> MagentoSource:
        source_settings = options.pop("source_settings", settings())
        source = MagentoSource(
            source_settings, page_size=page_size, transport=transport, sleep=sleeps.append, **options
        )
        sources.append(source)
        return source

    yield make
    for source in sources:
        source.close()


def create_order(
    client: TestClient, spec: dict[str, Any] | None = None, *, shop: str = SHOP
) -> dict[str, Any]:
    body = {"paid": True, "items": [{"sku": "TSHIRT-RED-M", "name": "T-shirt", "price": 19.95, "qty": 1}]}
    response = client.post(f"/_sandbox/magento/shops/{shop}/orders", json={**body, **(spec or {})})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def sample_order() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((samples_dir() / "magento-order-1.json").read_text())
    return loaded
