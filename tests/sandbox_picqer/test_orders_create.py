"""POST /orders: the Orders doc's fields, defaults and refusals."""

from __future__ import annotations

import pytest

from tests.sandbox_picqer.conftest import (
    CUSTOMER,
    IPOD_GREEN,
    MAIN,
    ORDERFIELD,
    OVERFLOW,
    Api,
    assert_error,
)

# Every field of the doc's order model (the "Get single order" example).
ORDER_FIELDS = {
    "idorder", "idcustomer", "idtemplate", "idshippingprovider_profile", "orderid", "deliveryname",
    "deliverycontactname", "deliveryaddress", "deliveryaddress2", "deliveryzipcode", "deliverycity",
    "deliveryregion", "deliverycountry", "full_delivery_address", "invoicename", "invoicecontactname",
    "invoiceaddress", "invoiceaddress2", "invoicezipcode", "invoicecity", "invoiceregion", "invoicecountry",
    "full_invoice_address", "telephone", "emailaddress", "reference", "customer_remarks", "pickup_point_data",
    "partialdelivery", "auto_split", "invoiced", "preferred_delivery_date", "discount", "calculatevat",
    "status", "via_portal", "public_status_page", "created", "updated", "warehouses", "products", "tags",
    "orderfields", "pricelists", "picklists", "language", "idfulfilment_customer",
}  # fmt: skip
LINE_FIELDS = {
    "idorder_product", "idproduct", "idvatgroup", "productcode", "name", "remarks", "price", "amount",
    "amount_cancelled", "weight", "partof_idorder_product", "has_parts",
}  # fmt: skip


def test_guest_order_is_a_concept_with_every_documented_field(api: Api) -> None:
    order = api.create_order(reference="#1001", deliverycountry="nl")
    assert order.keys() >= ORDER_FIELDS
    assert order["products"][0].keys() >= LINE_FIELDS
    assert order["status"] == "concept"
    assert isinstance(order["orderid"], str)
    assert order["orderid"]
    assert order["public_status_page"].startswith("https://")
    assert order["created"] == "2026-01-05 10:00:00" == order["updated"]
    assert order["deliverycountry"] == "NL"  # the doc's own guest example sends "nl"
    assert order["warehouses"] == [MAIN, OVERFLOW]
    assert order["tags"] == {}
    assert order["picklists"] == []
    line = order["products"][0]
    assert (line["idproduct"], line["productcode"], line["amount"], line["amount_cancelled"]) == (
        IPOD_GREEN,
        "IPOD2008GREEN",
        1,
        0,
    )
    assert line["price"] == 199.0


def test_guest_order_without_invoice_fields_invoices_the_delivery_address(api: Api) -> None:
    order = api.create_order()
    assert order["invoicename"] == "John Strijbos"
    assert order["invoicecountry"] == "NL"
    assert order["invoicecity"] == "Zeist"
    assert order["full_delivery_address"] == "John Strijbos\nVrije Water 12\n3928 DM Zeist\nNederland"


def test_products_by_productcode_with_overrides(api: Api) -> None:
    order = api.create_order(
        products=[{"productcode": "24-WG084", "amount": 3, "price": 4.5, "name": "Brick", "remarks": "blue"}]
    )
    line = order["products"][0]
    assert (line["productcode"], line["amount"], line["price"], line["name"], line["remarks"]) == (
        "24-WG084",
        3,
        4.5,
        "Brick",
        "blue",
    )


def test_customer_order_copies_the_customers_addresses(api: Api) -> None:
    response = api.post(
        "/orders", {"idcustomer": CUSTOMER, "products": [{"idproduct": IPOD_GREEN, "amount": 1}]}
    )
    assert response.status_code == 201
    order = response.json()
    assert order["idcustomer"] == CUSTOMER
    assert order["deliveryname"] == "Triangle B.V."
    assert order["deliverycontactname"] == "Jos Triepels"
    assert order["invoicecontactname"] == "Crediteurenadministratie"
    assert order["deliverycountry"] == "NL"
    assert order["emailaddress"] == "orders@triangle.example"


def test_orderfields_given_on_create_are_returned(api: Api) -> None:
    order = api.create_order(orderfields=[{"idorderfield": ORDERFIELD, "value": "1029371980276"}])
    assert order["orderfields"] == [
        {"idorderfield": ORDERFIELD, "title": "Klantreferentie", "value": "1029371980276"}
    ]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"products": []}, 13),
        ({"products": None}, 13),
        ({"products": [{"idproduct": IPOD_GREEN}]}, 23),
        ({"products": [{"amount": 1}]}, 23),
        ({"products": [{"idproduct": IPOD_GREEN, "amount": 0}]}, 23),
        ({"products": [{"idproduct": 999999, "amount": 1}]}, 24),
        ({"products": [{"productcode": "NO-SUCH-SKU", "amount": 1}]}, 24),
        ({"idcustomer": 999999}, 25),
        ({"deliverycountry": "Netherlands"}, 9),
        ({"deliverycountry": "XX"}, 9),
        ({"invoicename": "Someone", "invoicecountry": "ZZ"}, 9),
        ({"deliveryname": None}, 5),
        ({"deliverycountry": None}, 9),
        ({"preferred_delivery_date": "tomorrow"}, 5),
        ({"partialdelivery": "maybe"}, 5),
    ],
)
def test_refused_orders_answer_picqers_error_and_store_nothing(api: Api, overrides: dict, code: int) -> None:
    body = {
        "deliveryname": "John",
        "deliverycountry": "NL",
        "products": [{"idproduct": IPOD_GREEN, "amount": 1}],
        **overrides,
    }
    if body["deliverycountry"] is None:
        del body["deliverycountry"]
        code = 5
    assert_error(api.post("/orders", body), 400, code)
    assert api.get("/orders").json() == []


def test_body_that_is_not_json_is_code_22(api: Api) -> None:
    response = api.request("POST", "/orders", content=b"{nope", headers={"Content-Type": "application/json"})
    assert_error(response, 400, 22)


def test_body_that_is_a_list_is_refused(api: Api) -> None:
    assert_error(api.post("/orders", [1, 2]), 400, 22)


def test_ids_are_unique_and_increasing(api: Api) -> None:
    first, second = api.create_order(), api.create_order()
    assert second["idorder"] > first["idorder"]
    assert second["orderid"] != first["orderid"]
