"""The simulator's token endpoint, token checks, GraphQL endpoint and cost-based throttling."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sandbox.shopify.templates import template
from tests.shopify.conftest import SHOP, Sandbox

GRAPHQL = f"/shopify/{SHOP}/admin/api/2026-07/graphql.json"
TOKEN_URL = f"/shopify/{SHOP}/admin/oauth/access_token"


def grant(sandbox: Sandbox, *, as_json: bool = False, **changes: str) -> Any:
    app = sandbox.app()
    fields = {
        "grant_type": "client_credentials",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
    }
    fields.update(changes)
    if as_json:
        return sandbox.client.post(TOKEN_URL, json=fields)
    return sandbox.client.post(TOKEN_URL, data=fields)


def query(sandbox: Sandbox, token: str, text: str, variables: dict[str, Any] | None = None) -> Any:
    return sandbox.client.post(
        GRAPHQL, json={"query": text, "variables": variables or {}}, headers={"X-Shopify-Access-Token": token}
    )


def test_the_grant_answers_form_and_json_with_expiring_tokens(sandbox: Sandbox) -> None:
    sandbox.sim.configure(SHOP, access_token="shpat_only_this_one")  # no longer any token
    for as_json in (False, True):
        answer = grant(sandbox, as_json=as_json)
        assert answer.status_code == 200
        body = answer.json()
        assert body["expires_in"] == 86399
        assert "read_orders" in body["scope"]
        assert (
            query(sandbox, body["access_token"], "{ shop { name } }").json()["data"]["shop"]["name"] == SHOP
        )
    sandbox.clock.advance(timedelta(days=1))
    assert query(sandbox, body["access_token"], "{ shop { name } }").status_code == 401
    rest = sandbox.client.get(
        f"/shopify/{SHOP}/admin/api/2026-07/orders.json",
        headers={"X-Shopify-Access-Token": body["access_token"]},
    )
    assert rest.status_code == 401


def test_wrong_credentials_and_grants_are_refused(sandbox: Sandbox) -> None:
    assert grant(sandbox, client_secret="nope").status_code == 401
    assert grant(sandbox, client_id="nope").status_code == 401
    assert grant(sandbox, grant_type="authorization_code").status_code == 400
    sandbox.sim.configure(SHOP, access_token="shpat_only_this_one")
    assert query(sandbox, "shpat_guess", "{ shop { name } }").status_code == 401
    assert sandbox.client.post(GRAPHQL, json={"query": "{ shop { name } }"}).status_code == 401


def test_credentials_are_the_same_in_every_run(sandbox: Sandbox) -> None:
    first = sandbox.app()
    sandbox.sim.reset()
    assert sandbox.app() == first
    assert first["client_secret"].startswith("shpss_")
    assert first["access_token"].startswith("shpat_")
    assert "demo-shop" in sandbox.sim.credentials()


def test_orders_have_gids_legacy_ids_cursors_and_cost(sandbox: Sandbox) -> None:
    ids = [sandbox.sim.create_order(SHOP, template("tshirt"))["id"] for _ in range(3)]
    text = """query($after: String) { orders(first: 2, after: $after, sortKey: UPDATED_AT) {
        edges { cursor node { id legacyResourceId name } } pageInfo { hasNextPage endCursor } } }"""
    first = query(sandbox, "any", text).json()
    page = first["data"]["orders"]
    assert [edge["node"]["id"] for edge in page["edges"]] == [f"gid://shopify/Order/{n}" for n in ids[:2]]
    assert page["edges"][0]["node"]["legacyResourceId"] == str(ids[0])
    assert page["pageInfo"]["hasNextPage"] is True
    cost = first["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 4  # 2 + 2 orders x 1
    assert cost["throttleStatus"]["maximumAvailable"] == 2000
    second = query(sandbox, "any", text, {"after": page["pageInfo"]["endCursor"]}).json()["data"]["orders"]
    assert [edge["node"]["legacyResourceId"] for edge in second["edges"]] == [str(ids[2])]
    assert second["pageInfo"]["hasNextPage"] is False


def test_a_call_the_bucket_cannot_pay_is_throttled(sandbox: Sandbox) -> None:
    sandbox.sim.configure(SHOP, cost_maximum=100, cost_restore=10)
    text = "{ orders(first: 50) { nodes { id } } }"  # 52 points requested, 2 used: 50 come back
    first = query(sandbox, "any", text).json()
    assert first["extensions"]["cost"]["actualQueryCost"] == 2
    assert first["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 98
    sandbox.sim.shop(SHOP).cost.available = 30  # other clients of the app spent the rest
    throttled = query(sandbox, "any", text)
    assert throttled.status_code == 200
    body = throttled.json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert "data" not in body
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 30
    sandbox.clock.advance(timedelta(seconds=3))  # 30 more points restored
    assert "data" in query(sandbox, "any", text).json()


def test_too_costly_queries_and_unknown_fields_are_errors(sandbox: Sandbox) -> None:
    costly = query(
        sandbox, "any", "{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }"
    )
    assert costly.json()["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    unknown = query(sandbox, "any", "{ orders(first: 1) { nodes { nonsense } } }").json()
    assert "nonsense" in unknown["errors"][0]["message"]


def test_webhook_subscription_mutations(sandbox: Sandbox) -> None:
    create = """mutation($uri: String!) {
      webhookSubscriptionCreate(topic: ORDERS_PAID, webhookSubscription: {uri: $uri, format: JSON}) {
        webhookSubscription { id topic uri } userErrors { field message }
      }
    }"""
    made = query(sandbox, "any", create, {"uri": "https://hooks.example/paid"}).json()["data"]
    subscription = made["webhookSubscriptionCreate"]["webhookSubscription"]
    assert subscription["topic"] == "ORDERS_PAID"
    again = query(sandbox, "any", create, {"uri": "https://hooks.example/paid"}).json()["data"]
    assert again["webhookSubscriptionCreate"]["userErrors"]  # the same topic and address twice
    delete = """mutation($id: ID!) {
      webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } }
    }"""
    gone = query(sandbox, "any", delete, {"id": subscription["id"]}).json()["data"][
        "webhookSubscriptionDelete"
    ]
    assert gone["deletedWebhookSubscriptionId"] == subscription["id"]
    listed = query(sandbox, "any", "{ webhookSubscriptions(first: 10) { nodes { id } } }").json()
    assert listed["data"]["webhookSubscriptions"]["nodes"] == []
