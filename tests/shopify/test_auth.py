"""Client credentials: one token shared by the sources, renewed before it runs out and after a 401."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from adapters.shared import MemoryStore
from adapters.shopify.auth import ClientCredentialsAuth
from adapters.shopify.source import ShopifySource
from sandbox.shopify.templates import template
from tests.shopify.conftest import SHOP, Sandbox
from worker.config import SourceSettings
from worker.errors import AuthenticationFailed, ConfigError


class CountingTransport(httpx.BaseTransport):
    """Passes requests on and counts the token requests among them."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.token_requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/admin/oauth/access_token"):
            request.read()
            self.token_requests.append(request)
        return self.inner.handle_request(request)


def counting(sandbox: Sandbox) -> CountingTransport:
    return CountingTransport(sandbox.client._transport)


def app_source(sandbox: Sandbox, transport: httpx.BaseTransport, **overrides: Any) -> ShopifySource:
    app = sandbox.app()
    values = {"access_token": None, "client_id": app["client_id"], "client_secret": app["client_secret"]}
    settings = sandbox.settings(**{**values, **overrides})
    return ShopifySource(
        settings,
        transport=transport,
        sleep=sandbox.sleep,
        clock=lambda: sandbox.clock.now().timestamp(),
        shared=sandbox.shared,
    )


def test_one_token_serves_every_source_of_the_process(sandbox: Sandbox) -> None:
    order = sandbox.sim.create_order(SHOP, template("ipod"))
    transport = counting(sandbox)
    for _ in range(3):  # the worker opens a source per message
        assert app_source(sandbox, transport).get_order(str(order["id"]))["id"] == order["id"]
    [grant] = transport.token_requests
    assert grant.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert b"grant_type=client_credentials" in grant.content


def test_a_token_that_expires_mid_resync_is_renewed_without_losing_a_page(sandbox: Sandbox) -> None:
    ids = [sandbox.sim.create_order(SHOP, template("tshirt"))["id"] for _ in range(7)]
    transport = counting(sandbox)
    source = app_source(sandbox, transport)
    source.page_size = 3
    listing = source.iter_orders(None)
    seen = [next(listing)["id"] for _ in range(3)]
    sandbox.clock.advance(timedelta(days=1, minutes=1))  # the shop's token has run out (the cache not yet)
    seen += [order["id"] for order in listing]
    assert seen == ids
    assert len(transport.token_requests) == 2


def test_the_token_is_renewed_shortly_before_it_expires() -> None:
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    tokens = iter(["first", "second"])
    used: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("access_token"):
            return httpx.Response(200, json={"access_token": next(tokens), "scope": "", "expires_in": 86399})
        used.append(request.headers["X-Shopify-Access-Token"])
        return httpx.Response(200)

    auth = ClientCredentialsAuth(
        shop_url="https://s.myshopify.com", client_id="id", client_secret="x", store=store
    )
    with httpx.Client(auth=auth, transport=httpx.MockTransport(handler)) as client:
        client.get("https://s.myshopify.com/admin/api/2026-07/shop.json")
        now[0] = 86399 - 600  # ten minutes before Shopify's expiry: still the same token
        client.get("https://s.myshopify.com/admin/api/2026-07/shop.json")
        now[0] = 86399 - 60  # within the renewal margin: a new one
        client.get("https://s.myshopify.com/admin/api/2026-07/shop.json")
    assert used == ["first", "first", "second"]


def test_a_wrong_client_secret_fails_without_repeating_it(sandbox: Sandbox) -> None:
    source = app_source(sandbox, sandbox.client._transport, client_secret="shpss_wrong-secret-value")
    with capture_logs() as logs, pytest.raises(AuthenticationFailed) as caught:
        source.get_order("1")
    assert "client credentials" in str(caught.value)
    assert "shpss_wrong-secret-value" not in repr(caught.value.__dict__)
    assert "shpss_wrong-secret-value" not in repr(logs)


def test_a_refused_token_is_renewed_once_then_the_401_stands() -> None:
    grants: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("access_token"):
            grants.append("grant")
            return httpx.Response(200, json={"access_token": f"t{len(grants)}", "expires_in": 86399})
        return httpx.Response(401, json={"errors": "[API] Invalid API key or access token"})

    settings = SourceSettings(
        name="s", platform="shopify", url="https://s.myshopify.com", client_id="id", client_secret="secret"
    )
    source = ShopifySource(settings, transport=httpx.MockTransport(handler), shared=MemoryStore())
    with capture_logs() as logs, pytest.raises(AuthenticationFailed):
        source.get_order("1")
    assert grants == ["grant", "grant"]
    assert not any("t1" in str(value) or "secret" in str(value) for entry in logs for value in entry.values())


def test_missing_client_secret_is_a_config_error() -> None:
    settings = SourceSettings(name="s", platform="shopify", url="https://s.myshopify.com", client_id="id")
    with pytest.raises(ConfigError, match="client_secret"):
        ShopifySource(settings)


def test_the_legacy_token_still_works(sandbox: Sandbox) -> None:
    order = sandbox.sim.create_order(SHOP, template("ipod"))
    sandbox.sim.configure(SHOP, access_token="shpat_legacy")
    assert sandbox.source(access_token="shpat_legacy").get_order(str(order["id"]))["id"] == order["id"]
