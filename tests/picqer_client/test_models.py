"""The models read Picqer's real example payloads and the drift seen in practice."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pydantic import ValidationError

from adapters.picqer.models import (
    Customer,
    ErrorBody,
    Hook,
    OrderNote,
    OrderProduct,
    Picklist,
    PicqerOrder,
    Product,
    Shipment,
    Tag,
)
from tests.picqer_client.conftest import doc_example


def test_list_example_from_the_orders_doc() -> None:
    orders = [PicqerOrder.model_validate(row) for row in doc_example("list_orders")["response"]]
    first, second = orders
    assert first.idorder == 6576
    assert first.orderid == "30130012"
    assert first.created == datetime(2013, 7, 17, 16, 1, 42)
    assert first.created.tzinfo is None
    assert [tag.title for tag in first.tags] == ["TopWebshop", "SummerProducts"]
    assert first.tags[0] == Tag(
        idtag=1075, title="TopWebshop", color="#5993be", inherit=True, textColor="#000000"
    )
    assert [line.productcode for line in first.products] == ["6531-RB-7-9", "6531-RE"]
    assert first.products[0].price == 64.46
    assert first.warehouses == [1829, 2811]
    assert first.idshippingprovider_profile is None
    assert second.picklists[0].picklistid == "P2013-1832"
    assert second.picklists[0].updated == datetime(2013, 7, 19, 13, 58, 54)
    assert second.picklists[0].deliveryregion == ""


@pytest.mark.parametrize(
    "name", ["get_order", "create_order", "update_order", "process_order", "anonymize_order"]
)
def test_single_order_examples_from_the_orders_doc(name: str) -> None:
    order = PicqerOrder.model_validate(doc_example(name)["response"])
    assert order.idorder in {6576, 16860}
    assert order.orderid is not None
    assert order.orderid.isdigit()
    assert order.products
    assert order.products[0].idproduct == 633


def test_get_order_example_reads_orderfields_and_pricelists() -> None:
    order = PicqerOrder.model_validate(doc_example("get_order")["response"])
    assert [(field.idorderfield, field.title, field.value) for field in order.orderfields] == [
        (35, "Klantreferentie", "1029371980276")
    ]
    assert order.pricelists == [1198]
    assert order.status == "complete"  # the doc's own (unlisted) status string survives as-is


def test_create_response_line_without_idorder_product() -> None:
    order = PicqerOrder.model_validate(doc_example("create_order")["response"])
    assert order.products[0].idorder_product is None
    assert order.products[0].amount == 1
    assert order.full_delivery_address is None  # absent in this example


def test_notes_and_order_product_examples() -> None:
    note = OrderNote.model_validate(doc_example("add_note")["response"])
    assert note.type == "comment"
    assert note.created_at == datetime(2014, 8, 21, 12, 37, 6)
    line = OrderProduct.model_validate(doc_example("add_order_product")["response"])
    assert line.amount_cancelled is None
    assert line.has_parts is None
    assert line.weight == 1793


@pytest.mark.parametrize(
    "tags",
    [
        {
            "Winter": {"idtag": 11, "color": "#000", "inherit": False},
            "Zomer": {"idtag": 12, "title": "Zomer"},
        },
        [{"idtag": 11, "title": "Winter"}, {"idtag": 12, "title": "Zomer"}],
    ],
    ids=["object-keyed-by-title", "list"],
)
def test_tags_as_object_or_list_become_a_list(tags: object) -> None:
    order = PicqerOrder.model_validate({"idorder": 1, "tags": tags})
    assert [(tag.idtag, tag.title) for tag in order.tags] == [(11, "Winter"), (12, "Zomer")]
    assert order.tag_titles == {"Winter", "Zomer"}


@pytest.mark.parametrize("empty", [None, [], {}])
def test_empty_or_null_tags(empty: object) -> None:
    assert PicqerOrder.model_validate({"idorder": 1, "tags": empty}).tags == []


def test_nulls_for_lists_and_optionals() -> None:
    order = PicqerOrder.model_validate(
        {
            "idorder": 1,
            "products": None,
            "orderfields": None,
            "picklists": None,
            "warehouses": None,
            "pricelists": None,
            "created": None,
            "discount": None,
            "preferred_delivery_date": None,
        }
    )
    assert (order.products, order.orderfields, order.picklists, order.warehouses, order.pricelists) == (
        [],
        [],
        [],
        [],
        [],
    )
    assert order.created is None
    assert order.discount is None


def test_minimal_order_only_needs_idorder() -> None:
    order = PicqerOrder.model_validate({"idorder": "42"})
    assert order.idorder == 42
    assert order.status is None
    assert order.tags == []
    with pytest.raises(ValidationError):
        PicqerOrder.model_validate({"orderid": "1"})


def test_loose_numbers_and_strings() -> None:
    order = PicqerOrder.model_validate(
        {
            "idorder": "16860",
            "orderid": 20130028,
            "idcustomer": "",
            "discount": "2.5",
            "reference": 1001,
            "deliveryzipcode": 6983,
            "preferred_delivery_date": "2026-03-01",
            "products": [{"idproduct": "633", "amount": "2", "price": "54.46", "productcode": 1234}],
        }
    )
    assert order.idorder == 16860
    assert order.orderid == "20130028"
    assert order.idcustomer is None
    assert order.discount == 2.5
    assert order.reference == "1001"
    assert order.deliveryzipcode == "6983"
    assert order.preferred_delivery_date == date(2026, 3, 1)
    line = order.products[0]
    assert (line.idproduct, line.amount, line.price, line.productcode) == (633, 2, 54.46, "1234")


def test_orderid_with_letters_stays_a_string() -> None:
    assert PicqerOrder.model_validate({"idorder": 1, "orderid": "O2026-1002"}).orderid == "O2026-1002"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-01-13 09:46:30", datetime(2026, 1, 13, 9, 46, 30)),
        ("2026-01-13T09:46:30", datetime(2026, 1, 13, 9, 46, 30)),
        ("2026-01-13T09:46:30+01:00", datetime(2026, 1, 13, 9, 46, 30)),
        ("0000-00-00 00:00:00", None),
        ("", None),
        ("not a time", None),
    ],
)
def test_timestamps_are_naive(raw: str, expected: datetime | None) -> None:
    assert PicqerOrder.model_validate({"idorder": 1, "updated": raw}).updated == expected


def test_unknown_fields_are_kept() -> None:
    order = PicqerOrder.model_validate({"idorder": 1, "brand_new_field": {"x": 1}})
    assert order.model_extra == {"brand_new_field": {"x": 1}}
    assert order.model_dump()["brand_new_field"] == {"x": 1}


@pytest.mark.parametrize(
    ("secret", "has_secret"), [(True, True), (False, False), ("s3cr3t", True), (None, False)]
)
def test_hook_secret_as_bool_or_string(secret: object, has_secret: bool) -> None:
    hook = Hook.model_validate({"idhook": 1, "event": "orders.created", "active": "1", "secret": secret})
    assert hook.secret == secret
    assert hook.has_secret is has_secret
    assert hook.active is True


def test_product_customer_picklist_shipment() -> None:
    product = Product.model_validate(
        {"idproduct": 1, "productcode": "A", "price": "9.95", "active": True, "stock": None, "tags": {}}
    )
    assert product.price == 9.95
    assert product.stock == []
    assert product.tags == []
    customer = Customer.model_validate(
        {"idcustomer": 5, "customerid": 77, "addresses": [{"country": "NL", "defaultdelivery": True}]}
    )
    assert customer.customerid == "77"
    assert customer.addresses[0].defaultdelivery is True
    picklist = Picklist.model_validate(
        {"idpicklist": 9, "snoozed_until": None, "closed_at": "2026-02-01 10:00:00", "tags": [{"idtag": 3}]}
    )
    assert picklist.closed_at == datetime(2026, 2, 1, 10)
    assert picklist.tags[0].idtag == 3
    shipment = Shipment.model_validate({"idshipment": 4, "tracktraceurl": "https://t/1", "cancelled": False})
    assert shipment.tracking_url == "https://t/1"
    assert shipment.cancelled is False


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"error": True, "error_code": 24, "error_message": "nope"}, 24, "nope"),
        (
            {"error": True, "error_code": "28", "error_message": "Rate limit exceeded"},
            28,
            "Rate limit exceeded",
        ),
        ({"error": True, "error_code": "E_X", "error_message": ["a", "b"]}, None, '["a", "b"]'),
        ({"error": True}, None, None),
    ],
)
def test_error_body(body: dict[str, object], code: int | None, message: str | None) -> None:
    parsed = ErrorBody.model_validate(body)
    assert (parsed.error_code, parsed.error_message) == (code, message)
