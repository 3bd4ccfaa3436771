"""The Shopify simulator mounted on its own app, reached in-process through Starlette's transport."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapters.shared import MemoryStore
from adapters.shopify.source import ShopifySource
from sandbox.clock import Clock
from sandbox.delivery import WebhookDispatcher
from sandbox.shopify import DEFAULT_WEBHOOK_SECRET, ShopifySimulator
from tests.conftest import samples_dir
from worker.config import SourceSettings

SHOP = "test-shop"
HOOK_ADDRESS = "http://receiver.test/webhooks/sources/shop"


@dataclass
class Received:
    """Webhooks the simulator sent, as the receiver got them (headers and exact bytes)."""

    requests: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200)

    def topics(self) -> list[str]:
        return [request.headers["X-Shopify-Topic"] for request in self.requests]


@dataclass
class Sandbox:
    sim: ShopifySimulator
    clock: Clock
    client: TestClient
    received: Received
    sleeps: list[float] = field(default_factory=list)
    # what the sources of one test share (tokens, the cost bucket), as a worker's processes would
    shared: MemoryStore = field(default_factory=MemoryStore)

    def sleep(self, seconds: float) -> None:
        """Injected into sources: record the wait and move the sandbox clock (the bucket leaks)."""
        self.sleeps.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))

    def settings(self, shop: str = SHOP, **overrides: Any) -> SourceSettings:
        values: dict[str, Any] = {
            "name": "shop-nl",
            "platform": "shopify",
            "url": f"http://testserver/shopify/{shop}",
            "access_token": "shpat_test",
            "webhook_secret": DEFAULT_WEBHOOK_SECRET,
        }
        return SourceSettings(**{**values, **overrides})

    def app(self, shop: str = SHOP) -> dict[str, Any]:
        """The store's credentials as ``GET /_sandbox/credentials`` lists them."""
        self.sim.shop(shop)  # stores are made on first use
        return self.sim.credentials()[shop]

    def app_source(self, shop: str = SHOP, **overrides: Any) -> ShopifySource:
        """A source of the store's Dev Dashboard app (client credentials, no legacy token)."""
        app = self.app(shop)
        values = {"access_token": None, "client_id": app["client_id"], "client_secret": app["client_secret"]}
        return self.source(shop, **{**values, **overrides})

    def source(self, shop: str = SHOP, **overrides: Any) -> ShopifySource:
        # the TestClient is an httpx.Client; its transport runs the app in-process
        transport: httpx.BaseTransport = self.client._transport
        return ShopifySource(
            self.settings(shop, **overrides),
            transport=transport,
            sleep=self.sleep,
            clock=lambda: self.clock.now().timestamp(),  # the bucket refills with the sandbox clock
            shared=self.shared,
        )


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    clock = Clock()
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    received = Received()
    dispatcher = WebhookDispatcher(transport=httpx.MockTransport(received.handler))
    sim = ShopifySimulator(clock=clock, dispatcher=dispatcher)
    app = FastAPI()
    app.include_router(sim.api, prefix="/shopify")
    app.include_router(sim.control, prefix="/_sandbox/shopify")
    with TestClient(app) as client:
        yield Sandbox(sim=sim, clock=clock, client=client, received=received)


def load_sample(name: str) -> Any:
    return json.loads((samples_dir() / name).read_text())
