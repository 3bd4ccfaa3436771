"""report_fulfilment against the simulator: one shipment with its tracks, never two."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from adapters.magento import PLATFORM
from adapters.magento.fulfilment import report_fulfilment
from adapters.magento.source import MagentoSource
from adapters.platform import Tracking
from sandbox.magento import MagentoSimulator
from sandbox.magento.demo import HOODIE, YOGA_KIT
from tests.magento.conftest import SHOP, ClientTransport, SignedByOAuthlib, create_order
from worker.errors import OutcomeUnknown

MakeSource = Callable[..., MagentoSource]
CONTROL = f"/_sandbox/magento/shops/{SHOP}"


def shipments(client: TestClient) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = client.get(f"{CONTROL}/shipments").json()
    return result


def order(client: TestClient, order_id: int) -> dict[str, Any]:
    return next(o for o in client.get(f"{CONTROL}/orders").json() if o["entity_id"] == order_id)


def test_ships_with_tracking_once(client: TestClient, make_source: MakeSource) -> None:
    created = create_order(client)
    source = make_source()
    tracking = [
        Tracking(trackingcode="3SABC123", trackingurl="https://track.example/3SABC123", carrier="PostNL")
    ]
    PLATFORM.report_fulfilment(source, shop_order_id=str(created["entity_id"]), tracking=tracking)
    PLATFORM.report_fulfilment(source, shop_order_id=str(created["entity_id"]), tracking=tracking)
    recorded = shipments(client)
    assert len(recorded) == 1
    assert [(t["track_number"], t["title"], t["carrier_code"]) for t in recorded[0]["tracks"]] == [
        ("3SABC123", "PostNL", "custom")
    ]
    assert "https://track.example/3SABC123" in recorded[0]["comments"][0]["comment"]
    assert order(client, created["entity_id"])["state"] == "complete"


def test_known_carriers_keep_their_magento_code(client: TestClient, make_source: MakeSource) -> None:
    created = create_order(client)
    report_fulfilment(
        make_source(), shop_order_id=str(created["entity_id"]), tracking=[Tracking("1Z9", carrier="UPS")]
    )
    assert shipments(client)[0]["tracks"][0]["carrier_code"] == "ups"


def test_ships_only_what_the_shop_has_not_shipped_yet(client: TestClient, make_source: MakeSource) -> None:
    created = create_order(
        client,
        {
            "items": [
                {"sku": "TSHIRT-RED-M", "price": 19.95, "qty": 3},
                {"sku": "MUG-LOGO", "price": 9.95, "qty": 1},
            ]
        },
    )
    shirt = created["items"][0]["item_id"]
    first = {"items": [{"order_item_id": shirt, "qty": 1}]}  # the shop shipped one shirt itself
    assert (
        client.post(
            f"/magento/{SHOP}/rest/V1/order/{created['entity_id']}/ship",
            json=first,
            auth=SignedByOAuthlib(),
        ).status_code
        == 200
    )
    report_fulfilment(make_source(), shop_order_id=str(created["entity_id"]), tracking=[Tracking("T1")])
    second = shipments(client)[1]
    assert {(item["sku"], item["qty"]) for item in second["items"]} == {("TSHIRT-RED-M", 2), ("MUG-LOGO", 1)}
    assert order(client, created["entity_id"])["state"] == "complete"


def test_configurable_and_bundle_orders_ship_completely(client: TestClient, make_source: MakeSource) -> None:
    created = create_order(
        client, {"items": [HOODIE, YOGA_KIT, {"product_type": "downloadable", "sku": "E-BOOK"}]}
    )
    report_fulfilment(make_source(), shop_order_id=str(created["entity_id"]), tracking=[Tracking("T2")])
    shipped = order(client, created["entity_id"])
    assert shipped["state"] == "complete"
    physical = [row for row in shipped["items"] if not row["is_virtual"]]
    assert all(row["qty_shipped"] == row["qty_ordered"] for row in physical)
    assert {item["sku"] for item in shipments(client)[0]["items"]} == {
        "MH01-S-Gray",
        "24-WG080-24-WG084-24-WG088-24-WG086",
    }


def test_a_cancelled_order_gets_no_shipment(client: TestClient, make_source: MakeSource) -> None:
    created = create_order(client)
    client.post(f"{CONTROL}/orders/{created['entity_id']}/cancel")
    report_fulfilment(make_source(), shop_order_id=str(created["entity_id"]), tracking=[Tracking("T3")])
    assert shipments(client) == []


def test_a_lost_answer_is_outcome_unknown_and_the_retry_ships_nothing_twice(
    client: TestClient, transport: ClientTransport, make_source: MakeSource
) -> None:
    created = create_order(client)
    transport.fail_after_send = lambda request: request.method == "POST"
    source = make_source()
    with pytest.raises(OutcomeUnknown):
        report_fulfilment(source, shop_order_id=str(created["entity_id"]), tracking=[Tracking("T4")])
    transport.fail_after_send = lambda request: False
    report_fulfilment(source, shop_order_id=str(created["entity_id"]), tracking=[Tracking("T4")])
    assert len(shipments(client)) == 1  # stored by the first attempt; the retry looked first


def test_a_503_on_the_ship_request_is_not_repeated_blindly(
    client: TestClient, make_source: MakeSource, simulator: MagentoSimulator
) -> None:
    created = create_order(client)
    source = make_source()
    send = source.send

    def send_into_a_fault(method: str, url: str, **kwargs: Any) -> httpx.Response:
        if method == "POST":  # only the POST meets the fault
            client.post("/_sandbox/magento/faults", json={"status": 503, "count": 1})
        return send(method, url, **kwargs)

    source.send = send_into_a_fault  # type: ignore[method-assign]
    with pytest.raises(OutcomeUnknown):
        report_fulfilment(source, shop_order_id=str(created["entity_id"]), tracking=[Tracking("T5")])
    assert shipments(client) == []
    assert len([line for line in simulator.requests if line.startswith("POST")]) == 1
