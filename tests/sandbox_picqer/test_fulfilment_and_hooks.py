"""Picklists, shipments, completion, and the signed hooks that announce them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from fastapi.testclient import TestClient

from sandbox.picqer.simulator import PicqerSimulator
from tests.sandbox_picqer.conftest import CONTROL, IPOD_GREEN, MAIN, SOLD_OUT, Api, Catcher, assert_error

RECEIVER = "http://receiver.test/webhooks/picqer"
SECRET = "s3cret"
ORDER_EVENTS = ("orders.created", "orders.status_changed", "orders.completed", "orders.closed")
PICKLIST_EVENTS = ("picklists.created", "picklists.closed", "picklists.shipments.created")


def _subscribe(api: Api, *events: str) -> None:
    for event in events:
        response = api.post(
            "/hooks", {"name": f"sync {event}", "event": event, "address": RECEIVER, "secret": SECRET}
        )
        assert response.status_code == 201, response.text


def test_shipment_closes_the_picklist_takes_the_stock_and_completes_the_order(api: Api) -> None:
    order = api.processed_order(products=[{"idproduct": IPOD_GREEN, "amount": 2}])
    idpicklist = order["picklists"][0]["idpicklist"]
    response = api.post(f"/picklists/{idpicklist}/shipments", {"provider": "DHL"})
    assert response.status_code == 201
    shipment = response.json()
    assert (shipment["idorder"], shipment["idpicklist"], shipment["provider"]) == (
        order["idorder"],
        idpicklist,
        "DHL",
    )
    assert shipment["trackingcode"]
    assert api.get(f"/picklists/{idpicklist}").json()["status"] == "closed"
    assert [s["idshipment"] for s in api.get(f"/picklists/{idpicklist}/shipments").json()] == [
        shipment["idshipment"]
    ]
    stock = api.stock(IPOD_GREEN)
    assert (stock["stock"], stock["reservedpicklists"], stock["freestock"]) == (48, 0, 48)
    assert api.order(order["idorder"])["status"] == "completed"
    status = api.get(f"/orders/{order['idorder']}/productstatus").json()["products"][0]
    assert (status["delivered"], status["picklist"]) == (2, 0)


def test_order_with_backorders_stays_processing_after_its_picklist_ships(api: Api) -> None:
    order = api.processed_order(
        products=[{"idproduct": IPOD_GREEN, "amount": 1}, {"idproduct": SOLD_OUT, "amount": 1}]
    )
    assert len(order["picklists"]) == 1
    api.post(f"/picklists/{order['picklists'][0]['idpicklist']}/close")
    assert api.order(order["idorder"])["status"] == "processing"
    api.post(f"/products/{SOLD_OUT}/stock/{MAIN}", {"change": 5, "reason": "arrived"})
    second = api.post(f"/orders/{order['idorder']}/process-backorders").json()["picklists"][-1]
    api.post(f"/picklists/{second['idpicklist']}/close")
    assert api.order(order["idorder"])["status"] == "completed"


def test_closing_a_closed_picklist_is_refused(api: Api) -> None:
    idpicklist = api.processed_order()["picklists"][0]["idpicklist"]
    assert api.post(f"/picklists/{idpicklist}/close").status_code == 200
    assert_error(api.post(f"/picklists/{idpicklist}/close"), 400, 21)
    assert_error(api.get("/picklists/12345"), 404, 20)


def test_control_ship_ships_every_open_picklist(api: Api, client: TestClient) -> None:
    order = api.processed_order()
    response = client.post(f"{CONTROL}/orders/{order['idorder']}/ship", json={"trackingcode": "3STEST123"})
    assert response.status_code == 200
    assert response.json()["order"]["status"] == "completed"
    assert [s["trackingcode"] for s in response.json()["shipments"]] == ["3STEST123"]
    again = client.post(f"{CONTROL}/orders/{order['idorder']}/ship")
    assert again.status_code == 400
    assert again.json()["error_code"] == 21


def test_hooks_deliver_signed_envelopes_for_the_whole_order_flow(api: Api, catcher: Catcher) -> None:
    _subscribe(api, *ORDER_EVENTS, *PICKLIST_EVENTS)
    order = api.processed_order()
    api.post(f"/picklists/{order['picklists'][0]['idpicklist']}/shipments")
    assert catcher.events() == [
        "orders.created",
        "picklists.created",
        "orders.status_changed",
        "orders.closed",
        "picklists.shipments.created",
        "picklists.closed",
        "orders.status_changed",
        "orders.completed",
    ]
    for request in catcher.received:
        expected = base64.b64encode(
            hmac.new(SECRET.encode(), request.content, hashlib.sha256).digest()
        ).decode()
        assert request.headers["X-Picqer-Signature"] == expected
        assert str(request.url) == RECEIVER
        envelope = json.loads(request.content)
        assert set(envelope) == {"idhook", "name", "event", "event_triggered_at", "data"}
        assert envelope["event_triggered_at"] == "2026-01-05 10:00:00"
    changes = [body["data"]["status"] for body in catcher.bodies("orders.status_changed")]
    assert changes == ["processing", "completed"]
    shipment = catcher.bodies("picklists.shipments.created")[0]["data"]
    assert shipment["idorder"] == order["idorder"]
    assert shipment["trackingcode"]


def test_pause_and_resume_events(api: Api, catcher: Catcher) -> None:
    _subscribe(api, "orders.paused", "orders.resumed", "orders.status_changed")
    idorder = api.processed_order()["idorder"]
    api.post(f"/orders/{idorder}/pause", {"reason": "check address"})
    api.post(f"/orders/{idorder}/resume")
    assert catcher.events() == [
        "orders.status_changed",
        "orders.status_changed",
        "orders.paused",
        "orders.status_changed",
        "orders.resumed",
    ]


def test_hook_registration_rules(api: Api, catcher: Catcher) -> None:
    body = {"name": "a", "event": "orders.completed", "address": RECEIVER, "secret": SECRET}
    created = api.post("/hooks/", body).json()
    assert created["active"] is True
    assert created["secret"] is True
    assert_error(api.post("/hooks", body), 400, 5)  # address + event unique among active hooks
    assert_error(api.post("/hooks", {"name": "b", "event": "orders.completed"}), 400, 5)
    assert_error(api.post("/hooks", {**body, "event": "orders.nonsense"}), 400, 5)
    assert api.delete(f"/hooks/{created['idhook']}").status_code == 204
    assert api.get(f"/hooks/{created['idhook']}").json()["active"] is False
    replacement = api.post("/hooks", body)
    assert replacement.status_code == 201
    assert_error(api.post(f"/hooks/{created['idhook']}/reactivate"), 400, 5)
    api.delete(f"/hooks/{replacement.json()['idhook']}")
    assert api.post(f"/hooks/{created['idhook']}/reactivate").json()["active"] is True
    assert len(api.get("/hooks").json()) == 2


def test_inactive_hooks_receive_nothing(api: Api, catcher: Catcher) -> None:
    _subscribe(api, "orders.created")
    idhook = api.get("/hooks").json()[0]["idhook"]
    api.delete(f"/hooks/{idhook}")
    api.create_order()
    assert catcher.received == []


def test_failing_receiver_gets_the_hook_deactivated(api: Api, catcher: Catcher) -> None:
    catcher.status = 500
    _subscribe(api, "orders.created")
    for _ in range(5):
        api.create_order()
    assert api.get("/hooks").json()[0]["active"] is False


def test_delivery_faults_duplicate_and_log(api: Api, client: TestClient, catcher: Catcher) -> None:
    _subscribe(api, "orders.created")
    assert client.post(f"{CONTROL}/webhooks/faults", json={"duplicate_rate": 1.0}).status_code == 200
    api.create_order()
    assert catcher.events() == ["orders.created", "orders.created"]
    log = client.get(f"{CONTROL}/webhooks", params={"event": "orders.created"}).json()
    assert len(log) == 1
    assert log[0]["status"] == 200


def test_delivery_faults_reorder_holds_one_back_until_flushed(
    api: Api, client: TestClient, catcher: Catcher
) -> None:
    _subscribe(api, "orders.created")
    client.post(f"{CONTROL}/webhooks/faults", json={"reorder": True})
    first, second = api.create_order()["idorder"], api.create_order()["idorder"]
    assert [b["data"]["idorder"] for b in catcher.bodies("orders.created")] == [first]
    client.post(f"{CONTROL}/webhooks/flush")
    assert [b["data"]["idorder"] for b in catcher.bodies("orders.created")] == [first, second]


def test_simulator_exposed_on_app_state(sim: PicqerSimulator) -> None:
    assert sim.state.product_by_code("IPOD2008RED") is not None
