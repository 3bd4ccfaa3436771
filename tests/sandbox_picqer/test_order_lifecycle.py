"""Status transitions and their "only when ..." rules; a refused transition changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sandbox.clock import Clock
from tests.sandbox_picqer.conftest import (
    IPOD_GREEN,
    IPOD_RED,
    MAIN,
    OVERFLOW,
    SOLD_OUT,
    TEE,
    Api,
    assert_error,
)


def _without_time(order: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in order.items() if key != "updated"}


def assert_refused_unchanged(
    api: Api, idorder: int, method: str, path: str, code: int = 21, **kw: Any
) -> None:
    before = api.order(idorder)
    assert_error(api.request(method, path, **kw), 400, code)
    assert api.order(idorder) == before


def test_process_creates_a_picklist_and_reserves_stock(api: Api) -> None:
    order = api.processed_order(products=[{"idproduct": IPOD_GREEN, "amount": 2}])
    assert order["status"] == "processing"
    assert len(order["picklists"]) == 1
    picklist = order["picklists"][0]
    assert (picklist["idwarehouse"], picklist["status"], picklist["totalproducts"]) == (MAIN, "new", 2)
    stock = api.stock(IPOD_GREEN)
    assert (stock["stock"], stock["reservedpicklists"], stock["reserved"], stock["freestock"]) == (
        50,
        2,
        2,
        48,
    )


def test_process_without_stock_creates_backorders(api: Api) -> None:
    order = api.processed_order(products=[{"idproduct": SOLD_OUT, "amount": 2}])
    assert order["status"] == "processing"
    assert order["picklists"] == []
    status = api.get(f"/orders/{order['idorder']}/productstatus").json()["products"][0]
    assert (status["backorder"], status["picklist"], status["delivered"]) == (2, 0, 0)
    stock = api.stock(SOLD_OUT)
    assert (stock["reservedbackorders"], stock["freestock"]) == (2, -2)


def test_partial_delivery_splits_over_warehouses_and_backorders_the_rest(api: Api) -> None:
    # Tee: 3 in Main, 2 in Overflow; ordering 6 leaves one short.
    order = api.processed_order(products=[{"idproduct": TEE, "amount": 6}], partialdelivery=True)
    by_warehouse = {p["idwarehouse"]: p["totalproducts"] for p in order["picklists"]}
    assert by_warehouse == {MAIN: 3, OVERFLOW: 2}
    backorders = api.get(f"/orders/{order['idorder']}/backorders").json()
    assert [b["amount"] for b in backorders] == [1]


def test_without_partial_delivery_everything_waits_until_one_warehouse_has_it_all(api: Api) -> None:
    order = api.processed_order(
        products=[{"idproduct": TEE, "amount": 1}, {"idproduct": SOLD_OUT, "amount": 1}],
        partialdelivery=False,
    )
    assert order["picklists"] == []
    statuses = api.get(f"/orders/{order['idorder']}/productstatus").json()["products"]
    assert [s["backorder"] for s in statuses] == [1, 1]
    assert api.stock(TEE)["reservedpicklists"] == 0


def test_without_partial_delivery_a_single_warehouse_that_has_everything_is_used(api: Api) -> None:
    order = api.processed_order(products=[{"idproduct": TEE, "amount": 3}], partialdelivery=False)
    assert [(p["idwarehouse"], p["totalproducts"]) for p in order["picklists"]] == [(MAIN, 3)]


def test_process_twice_is_refused(api: Api) -> None:
    order = api.processed_order()
    assert_refused_unchanged(api, order["idorder"], "POST", f"/orders/{order['idorder']}/process")


def test_process_backorders_after_stock_arrives(api: Api) -> None:
    order = api.processed_order(products=[{"idproduct": SOLD_OUT, "amount": 2}])
    idorder = order["idorder"]
    api.post(f"/products/{SOLD_OUT}/stock/{MAIN}", {"change": 1, "reason": "delivery"})
    response = api.post(f"/orders/{idorder}/process-backorders?prefer_bulk_locations=true")
    assert response.status_code == 200
    assert [p["totalproducts"] for p in response.json()["picklists"]] == [1]
    status = api.get(f"/orders/{idorder}/productstatus").json()["products"][0]
    assert (status["picklist"], status["backorder"]) == (1, 1)


def test_prioritised_backorders_are_served_first(api: Api) -> None:
    first = api.processed_order(products=[{"idproduct": SOLD_OUT, "amount": 1}])["idorder"]
    second = api.processed_order(products=[{"idproduct": SOLD_OUT, "amount": 1}])["idorder"]
    api.post(f"/products/{SOLD_OUT}/stock/{MAIN}", {"amount": 1, "reason": "count"})
    assert api.post(f"/orders/{second}/process-backorders").json()["picklists"] == []  # first is ahead
    assert api.post(f"/orders/{second}/prioritise").status_code == 200
    assert len(api.post(f"/orders/{second}/process-backorders").json()["picklists"]) == 1
    assert api.post(f"/orders/{first}/process-backorders").json()["picklists"] == []


def test_pause_needs_a_reason_and_a_processing_order(api: Api) -> None:
    concept = api.create_order()["idorder"]
    assert_refused_unchanged(api, concept, "POST", f"/orders/{concept}/pause", json={"reason": "address"})
    order = api.processed_order()["idorder"]
    assert_refused_unchanged(api, order, "POST", f"/orders/{order}/pause", code=5, json={})
    paused = api.post(f"/orders/{order}/pause", {"reason": "Address is incorrect"}).json()
    assert paused["status"] == "paused"
    assert [p["status"] for p in paused["picklists"]] == ["paused"]


def test_resume_only_from_paused(api: Api) -> None:
    order = api.processed_order()["idorder"]
    assert_refused_unchanged(api, order, "POST", f"/orders/{order}/resume")
    api.post(f"/orders/{order}/pause", {"reason": "check"})
    resumed = api.post(f"/orders/{order}/resume").json()
    assert resumed["status"] == "processing"
    assert [p["status"] for p in resumed["picklists"]] == ["new"]


def test_reopen_only_processing_without_picklists(api: Api) -> None:
    with_picklist = api.processed_order()["idorder"]
    assert_refused_unchanged(api, with_picklist, "POST", f"/orders/{with_picklist}/reopen")
    backordered = api.processed_order(products=[{"idproduct": SOLD_OUT, "amount": 1}])["idorder"]
    reopened = api.post(f"/orders/{backordered}/reopen").json()
    assert reopened["status"] == "concept"
    assert api.get(f"/orders/{backordered}/backorders").json() == []
    assert api.stock(SOLD_OUT)["reservedbackorders"] == 0


def test_cancel_only_concept_or_expected(api: Api, client: Any) -> None:
    processing = api.processed_order()["idorder"]
    assert_refused_unchanged(api, processing, "DELETE", f"/orders/{processing}")
    concept = api.create_order()["idorder"]
    assert api.delete(f"/orders/{concept}").status_code == 204
    assert api.order(concept)["status"] == "cancelled"
    expected = api.create_order()["idorder"]
    assert (
        client.post(f"/_sandbox/picqer/orders/{expected}/status", json={"status": "expected"}).status_code
        == 200
    )
    assert api.delete(f"/orders/{expected}").status_code == 204


def test_force_cancel_removes_picklists_and_frees_stock(api: Api) -> None:
    order = api.processed_order(products=[{"idproduct": IPOD_GREEN, "amount": 2}])["idorder"]
    assert api.stock(IPOD_GREEN)["freestock"] == 48
    assert api.delete(f"/orders/{order}?force=true").status_code == 204
    cancelled = api.order(order)
    assert cancelled["status"] == "cancelled"
    assert [p["status"] for p in cancelled["picklists"]] == ["cancelled"]
    stock = api.stock(IPOD_GREEN)
    assert (stock["reservedpicklists"], stock["freestock"]) == (0, 50)


def test_undo_cancellation_only_from_cancelled(api: Api) -> None:
    order = api.create_order()["idorder"]
    assert_refused_unchanged(api, order, "POST", f"/orders/{order}/undo-cancellation")
    api.delete(f"/orders/{order}")
    assert api.post(f"/orders/{order}/undo-cancellation").json()["status"] == "concept"


def test_products_and_amounts_change_only_in_concept(api: Api) -> None:
    order = api.create_order()
    idorder, line = order["idorder"], order["products"][0]["idorder_product"]
    added = api.post(f"/orders/{idorder}/products", {"idproduct": IPOD_RED, "amount": 2, "price": 150})
    assert added.status_code == 200
    assert (added.json()["idproduct"], added.json()["price"]) == (IPOD_RED, 150.0)
    assert api.put(f"/orders/{idorder}/products/{line}", {"amount": 4}).json()["amount"] == 4
    removed = added.json()["idorder_product"]
    assert api.delete(f"/orders/{idorder}/products/{removed}").status_code == 204
    assert [p["idorder_product"] for p in api.get(f"/orders/{idorder}/products").json()] == [line]

    api.post(f"/orders/{idorder}/process")
    path = f"/orders/{idorder}/products"
    assert_refused_unchanged(api, idorder, "POST", path, code=33, json={"idproduct": IPOD_RED, "amount": 1})
    assert_refused_unchanged(api, idorder, "PUT", f"{path}/{line}", code=33, json={"amount": 9})
    assert_refused_unchanged(api, idorder, "DELETE", f"{path}/{line}", code=33)
    # Name, price and remarks stay editable.
    renamed = api.put(f"{path}/{line}", {"name": "Gift iPod", "remarks": "wrap it", "amount": 4}).json()
    assert (renamed["name"], renamed["remarks"], renamed["amount"]) == ("Gift iPod", "wrap it", 4)


def test_put_updates_documented_fields_only(api: Api, clock: Clock) -> None:
    order = api.create_order()
    clock.advance(timedelta(minutes=5))
    response = api.put(
        f"/orders/{order['idorder']}",
        {"deliveryname": "Dirksen B.V.", "reference": "#9927882", "status": "completed", "idorder": 1},
    )
    assert response.status_code == 200
    updated = response.json()
    assert (updated["deliveryname"], updated["reference"]) == ("Dirksen B.V.", "#9927882")
    assert (updated["status"], updated["idorder"]) == ("concept", order["idorder"])
    assert updated["updated"] == "2026-01-05 10:05:00"
    assert_refused_unchanged(
        api, order["idorder"], "PUT", f"/orders/{order['idorder']}", 9, json={"deliverycountry": "Q"}
    )


def test_put_on_a_cancelled_order_is_refused(api: Api) -> None:
    order = api.create_order()["idorder"]
    api.delete(f"/orders/{order}")
    assert_refused_unchanged(api, order, "PUT", f"/orders/{order}", code=30, json={"reference": "x"})


def test_anonymize_only_after_seven_days(api: Api, clock: Clock) -> None:
    order = api.processed_order(emailaddress="john@example.com", telephone="0612345678")["idorder"]
    assert_refused_unchanged(api, order, "POST", f"/orders/{order}/anonymize")
    clock.advance(timedelta(days=7, seconds=1))
    anonymous = api.post(f"/orders/{order}/anonymize").json()
    assert (anonymous["deliveryname"], anonymous["invoicename"]) == ("Anonymous", "Anonymous")
    assert anonymous["deliveryaddress"] is None
    assert anonymous["emailaddress"] is None
    assert anonymous["deliverycountry"] == "NL"


def test_allocate_lowers_free_stock_and_deallocate_releases_it(api: Api) -> None:
    order = api.create_order(products=[{"idproduct": IPOD_GREEN, "amount": 3}])["idorder"]
    assert api.post(f"/orders/{order}/allocate").status_code == 200
    stock = api.stock(IPOD_GREEN)
    assert (stock["reservedallocations"], stock["freestock"]) == (3, 47)
    assert api.get(f"/orders/{order}/productstatus").json()["products"][0]["allocated"] == 3
    assert api.post(f"/orders/{order}/deallocate").status_code == 200
    assert api.stock(IPOD_GREEN)["freestock"] == 50


def test_processing_turns_the_allocation_into_the_picklist(api: Api) -> None:
    order = api.create_order(products=[{"idproduct": IPOD_GREEN, "amount": 3}])["idorder"]
    api.post(f"/orders/{order}/allocate")
    api.post(f"/orders/{order}/process")
    stock = api.stock(IPOD_GREEN)
    assert (stock["reservedallocations"], stock["reservedpicklists"], stock["freestock"]) == (0, 3, 47)
    assert_refused_unchanged(api, order, "POST", f"/orders/{order}/allocate")


@pytest.mark.parametrize("action", ["pause", "resume", "reopen", "undo-cancellation", "process-backorders"])
def test_actions_on_unknown_orders_are_404(api: Api, action: str) -> None:
    assert_error(api.post(f"/orders/999999/{action}", {"reason": "x"}), 404, 20)
    assert_error(api.post(f"/orders/abc/{action}", {"reason": "x"}), 404, 20)


def test_process_answers_as_picqer_does_before_its_background_work_shows(api: Api) -> None:
    # the Orders doc: "This is why you still see the status 'concept' in the response."
    created = api.create_order(products=[{"idproduct": IPOD_GREEN, "amount": 1}])
    answer = api.post(f"/orders/{created['idorder']}/process").json()

    assert (answer["status"], answer["picklists"]) == ("concept", [])
    assert answer["updated"] >= created["updated"]
    checked = api.get(f"/orders/{created['idorder']}").json()
    assert checked["status"] == "processing"
    assert len(checked["picklists"]) == 1
