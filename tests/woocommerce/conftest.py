"""The WooCommerce simulator on its own FastAPI app, reached in-process through a sync transport."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapters.draft import MappingRules
from adapters.woocommerce.source import WooCommerceSource
from sandbox.clock import Clock
from sandbox.delivery import WebhookDispatcher
from sandbox.woocommerce import WooCommerceSimulator
from tests.conftest import samples_dir
from worker.config import SourceSettings

SHOP = "test-shop"
KEY = "ck_0123456789abcdef"
SECRET = "cs_fedcba9876543210"
WEBHOOK_SECRET = "whsec-current"
RECEIVER = "http://receiver.test/webhooks/sources/woo"
START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=UTC)
HTTP_URL = f"http://sandbox.test/woocommerce/{SHOP}"  # auth "auto": OAuth 1.0a in the query string
HTTPS_URL = f"https://sandbox.test/woocommerce/{SHOP}"  # auth "auto": Basic, then query keys


class AppTransport(httpx.BaseTransport):
    """A sync httpx transport into an ASGI app; ``after`` runs after each answer (to change data
    between two pages, say)."""

    def __init__(self, app: FastAPI) -> None:
        self._client = TestClient(app)
        self.requests: list[httpx.Request] = []
        self.after: Callable[[httpx.Request, httpx.Response], None] | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # a snapshot: auth flows change the request object in place when they resend it
        self.requests.append(httpx.Request(request.method, request.url, headers=request.headers.copy()))
        answer = self._client.send(request)
        if self.after is not None:
            self.after(request, answer)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


class Receiver:
    """Where the simulator's webhooks land: records each delivery and answers ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append((dict(request.headers), request.read()))
        return httpx.Response(self.status)

    def topics(self) -> list[str]:
        return [headers.get("x-wc-webhook-topic", "ping") for headers, _ in self.received]


@pytest.fixture
def clock() -> Clock:
    clock = Clock()
    clock.set(START)
    return clock


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def sim(clock: Clock, receiver: Receiver) -> WooCommerceSimulator:
    dispatcher = WebhookDispatcher(transport=httpx.MockTransport(receiver))
    return WooCommerceSimulator(clock=clock, dispatcher=dispatcher, consumer_key=KEY, consumer_secret=SECRET)


@pytest.fixture
def app(sim: WooCommerceSimulator) -> FastAPI:
    app = FastAPI()
    app.include_router(sim.api, prefix="/woocommerce")
    app.include_router(sim.control, prefix="/_sandbox/woocommerce")
    return app


@pytest.fixture
def transport(app: FastAPI) -> AppTransport:
    return AppTransport(app)


@pytest.fixture
def control(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="http://sandbox.test/_sandbox/woocommerce/")


def woo_settings(**overrides: Any) -> SourceSettings:
    values: dict[str, Any] = {
        "name": "woo",
        "platform": "woocommerce",
        "url": HTTP_URL,
        "consumer_key": KEY,
        "consumer_secret": SECRET,
        "webhook_secret": WEBHOOK_SECRET,
    }
    values.update(overrides)
    return SourceSettings(**values)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_source(transport: AppTransport, sleeps: list[float]) -> Iterator[Callable[..., WooCommerceSource]]:
    made: list[WooCommerceSource] = []

    def make(**options: Any) -> WooCommerceSource:
        settings = options.pop("settings", None) or woo_settings()
        source = WooCommerceSource(settings, transport=transport, sleep=sleeps.append, **options)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


@pytest.fixture
def rules() -> MappingRules:
    return MappingRules(source="woo", platform="woocommerce", tags=["{source}", "webshop"], language="nl")


def sample_orders() -> list[dict[str, Any]]:
    with (samples_dir() / "woocommerce-orders-list-1.json").open("rb") as handle:
        orders: list[dict[str, Any]] = json.load(handle)
    return orders
