"""The Magento simulator's own contract: searchCriteria, errors, control, demo data."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from adapters.draft import MappingRules, ShopOrderState
from adapters.magento import map_order
from sandbox.magento import MagentoSimulator
from tests.magento.conftest import SHOP, SignedByOAuthlib, create_order

ORDERS = f"/magento/{SHOP}/rest/V1/orders"
CONTROL = f"/_sandbox/magento/shops/{SHOP}"


def search(client: TestClient, params: dict[str, str], path: str = ORDERS) -> dict[str, Any]:
    answer = client.get(path, params=params, auth=SignedByOAuthlib())
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def filters(*groups: list[tuple[str, str, str]]) -> dict[str, str]:
    params = {}
    for g, group in enumerate(groups):
        for f, (field, value, condition) in enumerate(group):
            prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params.update(
                {f"{prefix}[field]": field, f"{prefix}[value]": value, f"{prefix}[condition_type]": condition}
            )
    return params


def ids(body: dict[str, Any]) -> list[int]:
    return [item["entity_id"] for item in body["items"]]


def test_without_a_bearer_token_magento_says_unauthorized(client: TestClient) -> None:
    create_order(client)
    answer = client.get(ORDERS)
    assert answer.status_code == 401
    assert answer.json()["message"] == "The consumer isn't authorized to access %resources."
    assert "parameters" in answer.json()


def test_filters_groups_and_conditions(client: TestClient) -> None:
    for _ in range(5):
        create_order(client)
    client.post(f"{CONTROL}/orders/2/cancel")
    sort = {
        "searchCriteria[sortOrders][0][field]": "entity_id",
        "searchCriteria[sortOrders][0][direction]": "ASC",
    }
    assert ids(search(client, {**filters([("entity_id", "2,4", "in")]), **sort})) == [2, 4]
    assert ids(search(client, {**filters([("entity_id", "3", "gt")]), **sort})) == [4, 5]
    assert ids(
        search(client, {**filters([("entity_id", "2", "from")], [("entity_id", "3", "to")]), **sort})
    ) == [2, 3]
    # OR within a group, AND across groups
    either = filters([("entity_id", "1", "eq"), ("state", "canceled", "eq")], [("entity_id", "4", "lt")])
    assert ids(search(client, {**either, **sort})) == [1, 2]
    assert ids(search(client, {**filters([("increment_id", "%05", "like")]), **sort})) == [5]


def test_a_page_past_the_end_is_the_last_page_again(client: TestClient) -> None:
    for _ in range(5):
        create_order(client)
    params = {
        "searchCriteria[pageSize]": "2",
        "searchCriteria[currentPage]": "9",
        "searchCriteria[sortOrders][0][field]": "entity_id",
        "searchCriteria[sortOrders][0][direction]": "ASC",
    }
    body = search(client, params)
    assert (ids(body), body["total_count"]) == ([5], 5)
    assert body["search_criteria"]["current_page"] == 9


def test_store_code_paths_and_an_unknown_condition(client: TestClient) -> None:
    created = create_order(client)
    answer = client.get(
        f"/magento/{SHOP}/rest/default/V1/orders/{created['entity_id']}", auth=SignedByOAuthlib()
    )
    assert answer.json()["increment_id"] == created["increment_id"]
    bad = client.get(ORDERS, params=filters([("state", "x", "around")]), auth=SignedByOAuthlib())
    assert bad.status_code == 400
    assert set(bad.json()) == {"message", "parameters"}


def test_orders_have_magentos_shape(client: TestClient, simulator: MagentoSimulator) -> None:
    simulator.seed_demo()
    orders = search(client, {}, "/magento/demo-shop/rest/V1/orders")["items"]
    assert len(orders) == 4
    hoodie = next(o for o in orders if any(r["product_type"] == "configurable" for r in o["items"]))
    child = next(r for r in hoodie["items"] if r.get("parent_item_id"))
    assert (child["price"], child["parent_item"]["product_type"]) == (0.0, "configurable")
    assert (
        hoodie["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]["country_id"] == "NL"
    )
    rules = MappingRules(source="demo", platform="magento")
    states = sorted(map_order(o, rules).state.value for o in orders)
    assert states == sorted([ShopOrderState.READY.value] * 3 + [ShopOrderState.UNPAID.value])


def test_control_invoice_refund_address_and_errors(client: TestClient) -> None:
    created = create_order(client, {"paid": False})
    order_id = created["entity_id"]
    assert created["state"] == "new"
    assert client.post(f"{CONTROL}/orders/{order_id}/invoice").json()["state"] == "processing"
    again = client.post(f"{CONTROL}/orders/{order_id}/invoice")
    assert again.status_code == 400
    assert "invoice" in again.json()["message"]
    moved = client.put(f"{CONTROL}/orders/{order_id}/address", json={"shipping": {"city": "Delft"}})
    assert (
        moved.json()["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]["city"]
        == "Delft"
    )
    item_id = created["items"][0]["item_id"]
    closed = client.post(
        f"{CONTROL}/orders/{order_id}/refund", json={"items": [{"order_item_id": item_id, "qty": 1}]}
    )
    assert closed.json()["state"] == "closed"


def test_shipping_more_than_is_left_is_refused(client: TestClient) -> None:
    created = create_order(client)
    item_id = created["items"][0]["item_id"]
    body = {"items": [{"order_item_id": item_id, "qty": 2}]}
    answer = client.post(
        f"/magento/{SHOP}/rest/V1/order/{created['entity_id']}/ship", json=body, auth=SignedByOAuthlib()
    )
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("Shipment Document Validation Error(s)")
