"""Shopify's own Python library (``ShopifyAPI`` on PyPI), unchanged, against the simulator.

The library speaks to ``https://{shop}.myshopify.com`` through ``urllib``; the only thing between
them is :class:`MyshopifyHandler`, a urllib handler that delivers those requests to the sandbox app
in-process (``/shopify/{shop}/...``) instead of over the network. What the library sends and how it
reads the answers is its own: REST through ``shopify.Order``, GraphQL through ``shopify.GraphQL``.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sandbox.shopify.templates import template
from tests.shopify.conftest import SHOP, Sandbox

shopify = pytest.importorskip("shopify")
pyactiveresource_connection = pytest.importorskip("pyactiveresource.connection")

VERSION = "2026-07"
DOMAIN = f"{SHOP}.myshopify.com"


class MyshopifyHandler(urllib.request.BaseHandler):
    """Answers ``https://{shop}.myshopify.com/...`` from the sandbox app; nothing else is reached."""

    handler_order = 100  # before urllib's own HTTPS handler

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def https_open(self, request: urllib.request.Request) -> Any:
        url = urllib.parse.urlsplit(request.full_url)
        host = url.hostname or ""
        if not host.endswith(".myshopify.com"):
            raise urllib.error.URLError(f"no network in tests: {host}")
        shop = host.removesuffix(".myshopify.com")
        path = f"/shopify/{shop}{url.path}" + (f"?{url.query}" if url.query else "")
        answer = self.client.request(
            request.get_method(), path, content=request.data, headers=dict(request.header_items())
        )
        headers = Message()
        for name, value in answer.headers.items():
            headers[name] = value
        response = urllib.response.addinfourl(
            io.BytesIO(answer.content), headers, request.full_url, answer.status_code
        )
        response.msg = answer.reason_phrase
        return response


@pytest.fixture
def library(sandbox: Sandbox) -> Iterator[Any]:
    opener = urllib.request.build_opener(MyshopifyHandler(sandbox.client))
    urllib.request.install_opener(opener)
    try:
        yield shopify
    finally:
        shopify.ShopifyResource.clear_session()
        urllib.request.install_opener(None)  # type: ignore[arg-type]


def client_credentials_token(sandbox: Sandbox) -> str:
    """The grant as Shopify's page shows it: a form POST to /admin/oauth/access_token."""
    app = sandbox.app()
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        }
    ).encode()
    with urllib.request.urlopen(f"https://{DOMAIN}/admin/oauth/access_token", form) as answer:
        body = json.loads(answer.read())
    assert body["expires_in"] > 0
    return str(body["access_token"])


def test_rest_order_find_with_a_client_credentials_token(sandbox: Sandbox, library: Any) -> None:
    sandbox.sim.configure(SHOP, access_token="shpat_not_what_the_library_uses")  # only real tokens
    made = [sandbox.sim.create_order(SHOP, template(name)) for name in ("ipod", "tshirt")]
    session = library.Session(DOMAIN, VERSION, client_credentials_token(sandbox))
    library.ShopifyResource.activate_session(session)

    orders = library.Order.find(status="any")
    assert sorted(order.id for order in orders) == sorted(order["id"] for order in made)
    one = library.Order.find(made[1]["id"])
    assert one.name == made[1]["name"]
    assert [line.sku for line in one.line_items] == ["TSHIRT-RED-M", "MUG-LOGO"]
    assert library.Order.count(status="any") == 2


def test_graphql_execute_reads_orders_with_cost_extensions(sandbox: Sandbox, library: Any) -> None:
    made = sandbox.sim.create_order(SHOP, template("mug"))
    library.ShopifyResource.activate_session(
        library.Session(DOMAIN, VERSION, client_credentials_token(sandbox))
    )
    query = """query Orders($first: Int!) {
      shop { name myshopifyDomain }
      orders(first: $first, sortKey: UPDATED_AT) {
        nodes { id legacyResourceId name lineItems(first: 5) { nodes { sku quantity } } }
      }
    }"""
    answer = json.loads(library.GraphQL().execute(query, variables={"first": 5}, operation_name="Orders"))
    assert answer["data"]["shop"]["myshopifyDomain"] == DOMAIN
    [order] = answer["data"]["orders"]["nodes"]
    assert (order["id"], order["legacyResourceId"]) == (f"gid://shopify/Order/{made['id']}", str(made["id"]))
    assert [line["sku"] for line in order["lineItems"]["nodes"]] == ["MUG-LOGO", "GIFTCARD-25"]
    assert answer["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] > 0


def test_a_wrong_token_is_refused_to_the_library(sandbox: Sandbox, library: Any) -> None:
    sandbox.sim.configure(SHOP, access_token="shpat_the_real_one")
    library.ShopifyResource.activate_session(library.Session(DOMAIN, VERSION, "shpat_a_guess"))
    with pytest.raises(pyactiveresource_connection.UnauthorizedAccess):
        library.Order.find()
    with pytest.raises(urllib.error.HTTPError) as caught:
        library.GraphQL().execute("{ shop { name } }")
    assert caught.value.code == 401
