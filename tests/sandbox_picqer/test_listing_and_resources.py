"""Pagination by 100 with offset, every GET /orders filter, and the resources around orders."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from sandbox.clock import Clock
from tests.sandbox_picqer.conftest import (
    CONTROL,
    CUSTOMER,
    IPOD_GREEN,
    MAIN,
    ORDERFIELD,
    OVERFLOW,
    TAG_SHOPIFY,
    TAG_WEBSHOP,
    VAT_HIGH,
    Api,
    assert_error,
)


def test_orders_paginate_by_100_with_offset(api: Api) -> None:
    for number in range(205):
        api.create_order(reference=f"#{number}")
    pages = [api.get("/orders", params={"offset": offset}).json() for offset in (0, 100, 200, 300)]
    assert [len(page) for page in pages] == [100, 100, 5, 0]
    ids = [order["idorder"] for page in pages for order in page]
    assert ids == sorted(set(ids))
    assert_error(api.get("/orders", params={"offset": "x"}), 400, 5)


def test_order_filters(api: Api, clock: Clock) -> None:
    first = api.create_order(reference="#A1", emailaddress="ann@example.com", deliveryname="Ann Smith")
    clock.advance(timedelta(hours=1))
    second = api.create_order(reference="#B2", deliverycontactname="Bob Jones", warehouses=[OVERFLOW])
    api.post(f"/orders/{second['idorder']}/tags", {"idtag": TAG_SHOPIFY})
    api.post(f"/orders/{second['idorder']}/process")
    third = api.post(
        "/orders", {"idcustomer": CUSTOMER, "products": [{"idproduct": IPOD_GREEN, "amount": 1}]}
    ).json()

    def ids(**params: object) -> list[int]:
        response = api.get("/orders", params=params)
        assert response.status_code == 200, response.text
        return [o["idorder"] for o in response.json()]

    a, b, c = first["idorder"], second["idorder"], third["idorder"]
    assert ids(reference="#A1") == [a]
    assert ids(emailaddress="ANN@example.com") == [a]
    assert ids(search="bob") == [b]
    assert ids(search="triangle") == [c]
    assert ids(search=second["orderid"]) == [b]
    assert ids(orderid=first["orderid"]) == [a]
    assert ids(status="processing") == [b]
    assert ids(sinceid=a) == [b, c]
    assert ids(beforeid=b) == [a]
    assert ids(sincedate="2026-01-05 10:30:00") == [b, c]
    assert ids(untildate="2026-01-05 10:30:00") == [a]
    assert ids(idcustomer=CUSTOMER) == [c]
    assert ids(idwarehouse=MAIN) == [a, c]
    assert ids(tag="Shopify") == [b]
    assert ids(tag=str(TAG_SHOPIFY)) == [b]
    assert_error(api.get("/orders", params={"sincedate": "yesterday"}), 400, 5)
    assert_error(api.get("/orders", params={"sinceid": "abc"}), 400, 5)


def test_order_tags_as_object_and_list(api: Api) -> None:
    idorder = api.create_order()["idorder"]
    added = api.post(f"/orders/{idorder}/tags", {"idtag": TAG_WEBSHOP})
    assert added.status_code == 201
    assert added.json()["title"] == "Webshop"
    assert set(api.order(idorder)["tags"]) == {"Webshop"}
    assert api.order(idorder)["tags"]["Webshop"]["idtag"] == TAG_WEBSHOP
    assert [t["idtag"] for t in api.get(f"/orders/{idorder}/tags").json()] == [TAG_WEBSHOP]
    assert_error(api.post(f"/orders/{idorder}/tags", {"idtag": 99999}), 404, 20)
    assert_error(api.post(f"/orders/{idorder}/tags", {}), 400, 5)
    assert api.delete(f"/orders/{idorder}/tags/{TAG_WEBSHOP}").status_code == 204
    assert api.order(idorder)["tags"] == {}
    assert_error(api.delete(f"/orders/{idorder}/tags/{TAG_WEBSHOP}"), 404, 20)


def test_tags_list_create_and_paginate(api: Api) -> None:
    for number in range(100):
        assert (
            api.post("/tags", {"title": f"T{number}", "color": "#ffffff", "inherit": True}).status_code == 201
        )
    first, second = api.get("/tags").json(), api.get("/tags", params={"offset": 100}).json()
    assert (len(first), len(second)) == (100, 5)
    assert second[-1]["textColor"] == "#000000"
    assert_error(api.post("/tags", {"color": "#ffffff"}), 400, 5)


def test_orderfields_on_orders(api: Api) -> None:
    assert [f["idorderfield"] for f in api.get("/orderfields").json()] == [ORDERFIELD]
    idorder = api.create_order()["idorder"]
    assert api.get(f"/orders/{idorder}/orderfields").json() == []
    response = api.put(f"/orders/{idorder}/orderfields/{ORDERFIELD}", {"value": "Johns"})
    assert response.json() == {"idorderfield": ORDERFIELD, "title": "Klantreferentie", "value": "Johns"}
    assert api.order(idorder)["orderfields"][0]["value"] == "Johns"
    assert_error(api.put(f"/orders/{idorder}/orderfields/{ORDERFIELD}", {}), 400, 5)
    assert_error(api.put(f"/orders/{idorder}/orderfields/999", {"value": "x"}), 404, 20)
    assert api.delete(f"/orders/{idorder}/orderfields/{ORDERFIELD}").status_code == 204
    assert api.get(f"/orders/{idorder}/orderfields").json() == []


def test_notes(api: Api) -> None:
    idorder = api.create_order()["idorder"]
    note = api.post(f"/orders/{idorder}/notes", {"note": "Handle with care"})
    assert note.status_code == 200
    assert (note.json()["description"], note.json()["idorder"]) == ("Handle with care", idorder)
    assert [n["description"] for n in api.get(f"/orders/{idorder}/notes").json()] == ["Handle with care"]
    assert_error(api.post(f"/orders/{idorder}/notes", {"note": ""}), 400, 5)


def test_products_create_lookup_and_stock(api: Api) -> None:
    body = {"productcode": "NEW-SKU", "name": "New thing", "price": 10, "idvatgroup": VAT_HIGH}
    created = api.post("/products", body)
    assert created.status_code == 201
    idproduct = created.json()["idproduct"]
    assert_error(api.post("/products", body), 400, 5)  # productcode is unique
    assert_error(api.post("/products", {**body, "productcode": "X2", "idvatgroup": 999}), 400, 14)
    assert_error(api.post("/products", {"name": "no code"}), 400, 5)
    assert [p["idproduct"] for p in api.get("/products", params={"productcode": "NEW-SKU"}).json()] == [
        idproduct
    ]
    assert api.get("/products", params={"productcode": "NOPE"}).json() == []
    assert api.get(f"/products/{idproduct}").json()["productcode"] == "NEW-SKU"
    changed = api.post(f"/products/{idproduct}/stock/{MAIN}", {"change": 4, "reason": "found"})
    assert (changed.json()["stock"], changed.json()["freestock"]) == (4, 4)
    assert (
        api.post(f"/products/{idproduct}/stock/{MAIN}", {"amount": 9, "reason": "count"}).json()["stock"] == 9
    )
    assert_error(api.post(f"/products/{idproduct}/stock/{MAIN}", {"change": -10, "reason": "x"}), 400, 5)
    assert_error(api.post(f"/products/{idproduct}/stock/{MAIN}", {"reason": "x"}), 400, 5)
    assert_error(api.post(f"/products/{idproduct}/stock/999", {"change": 1}), 404, 20)
    assert_error(api.get("/products/999999"), 404, 20)


def test_stock_cannot_drop_below_what_picklists_hold(api: Api) -> None:
    api.processed_order(products=[{"idproduct": IPOD_GREEN, "amount": 5}])
    assert_error(api.post(f"/products/{IPOD_GREEN}/stock/{MAIN}", {"amount": 4, "reason": "x"}), 400, 5)
    assert api.stock(IPOD_GREEN)["stock"] == 50


def test_customers(api: Api) -> None:
    found = api.get("/customers", params={"search": "triangle"}).json()
    assert [c["idcustomer"] for c in found] == [CUSTOMER]
    created = api.post(
        "/customers",
        {
            "name": "Acme",
            "emailaddress": "ops@acme.example",
            "addresses": [{"name": "Acme", "country": "be"}],
        },
    )
    assert created.status_code == 201
    assert created.json()["addresses"][0]["country"] == "BE"
    assert api.get(f"/customers/{created.json()['idcustomer']}").json()["name"] == "Acme"
    assert_error(
        api.post("/customers", {"name": "Bad", "addresses": [{"name": "B", "country": "ZZ"}]}), 400, 9
    )
    assert_error(api.get("/customers/1"), 404, 20)


def test_warehouses_vatgroups_picklists_lists(api: Api) -> None:
    assert [w["name"] for w in api.get("/warehouses").json()] == ["Main", "Overflow"]
    assert api.get(f"/warehouses/{MAIN}").json()["accept_orders"] is True
    stock = api.get(f"/warehouses/{MAIN}/stock").json()
    assert stock[0]["stock"]["freestock"] == 50
    assert [v["percentage"] for v in api.get("/vatgroups").json()] == [21.0, 9.0, 0.0]
    order = api.processed_order()
    picklists = api.get("/picklists", params={"idorder": order["idorder"]}).json()
    assert [p["idpicklist"] for p in picklists] == [order["picklists"][0]["idpicklist"]]
    assert picklists[0]["products"][0]["productcode"] == "IPOD2008GREEN"
    assert api.get("/picklists", params={"status": "closed"}).json() == []


def test_seed_has_every_sample_sku(client: TestClient, api: Api) -> None:
    codes = {p["productcode"] for p in api.get("/products").json()}
    samples = {"IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK", "Bar3", "WS12-M-Orange", "240-LV08"}
    samples |= {"24-WG082-blue", "24-WG084", "24-WG086", "24-WG088", "MH01-S-Gray"}
    samples.add("24-WG080-24-WG084-24-WG088-24-WG082-blue-24-WG086")
    assert samples <= codes
    assert client.post(f"{CONTROL}/seed").json()["products"] == 17  # 14 sample SKUs + 3 of the shop demos
