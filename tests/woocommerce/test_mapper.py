"""map_order on the vendor sample and on orders built like it."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.draft import MappingRules, ShopOrderState
from adapters.woocommerce.mapper import ALREADY_COMPLETED, map_order
from tests.woocommerce.conftest import sample_orders
from worker.errors import MappingError


def sample(order_id: int) -> dict[str, Any]:
    return next(order for order in sample_orders() if order["id"] == order_id)


def shippable(**changes: Any) -> dict[str, Any]:
    """Sample order 727 with SKUs on every line, then ``changes`` applied."""
    order = copy.deepcopy(sample(727))
    order["line_items"][0]["sku"] = "WOO-SINGLE-1"
    order.update(changes)
    return order


def refund_with_line(line_id: int, quantity: int) -> dict[str, Any]:
    """A refund as ``GET orders/{id}/refunds`` gives it: negative quantity, ``_refunded_item_id``."""
    return {
        "id": 900 + line_id,
        "reason": "",
        "amount": "3.00",
        "line_items": [
            {
                "id": 5000 + line_id,
                "quantity": -quantity,
                "sku": "",
                "meta_data": [{"id": 1, "key": "_refunded_item_id", "value": str(line_id)}],
            }
        ],
    }


def test_sample_727_processing_with_a_line_without_sku_fails_naming_the_line(rules: MappingRules) -> None:
    with pytest.raises(MappingError) as caught:
        map_order(sample(727), rules)
    assert "line 315" in caught.value.reason
    assert "Woo Single #1" in caught.value.reason
    assert "no SKU" in caught.value.reason
    assert caught.value.field == "line_items[0].sku"


def test_sample_723_completed_is_not_pushed(rules: MappingRules) -> None:
    mapped = map_order(sample(723), rules)
    assert mapped.state is ShopOrderState.NOTHING_TO_SHIP
    assert mapped.reason == ALREADY_COMPLETED
    assert mapped.draft is None
    assert mapped.shop_status == "completed"
    assert mapped.shop_order_number == "723"


def test_completed_is_pushed_when_configured_as_paid(rules: MappingRules) -> None:
    order = shippable(status="completed")
    mapped = map_order(order, rules.model_copy(update={"paid_statuses": ["processing", "completed"]}))
    assert mapped.state is ShopOrderState.READY


def test_full_happy_path_maps_every_field(rules: MappingRules) -> None:
    order = shippable(
        number="WC-727",
        customer_note="Leave it at the back door",
        billing={
            **sample(727)["billing"],
            "company": "Doe Ltd",
        },
        shipping={
            "first_name": "Jane",
            "last_name": "Roe",
            "company": "",
            "address_1": "1 Main St",
            "address_2": "Unit 4",
            "city": "Oakland",
            "state": "CA",
            "postcode": "94601",
            "country": "us",
        },
    )
    mapped = map_order(order, rules)
    assert mapped.state is ShopOrderState.READY
    assert (mapped.source, mapped.platform, mapped.shop_order_id) == ("woo", "woocommerce", "727")
    assert mapped.shop_order_number == "WC-727"
    assert mapped.shop_status == "processing"
    assert mapped.shop_updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)  # the GMT field
    draft = mapped.draft
    assert draft is not None
    assert draft.reference == "WC-727"
    assert (draft.deliveryname, draft.deliverycontactname) == ("Jane Roe", None)
    assert (draft.deliveryaddress, draft.deliveryaddress2) == ("1 Main St", "Unit 4")
    assert (draft.deliveryzipcode, draft.deliverycity, draft.deliveryregion) == ("94601", "Oakland", "CA")
    assert draft.deliverycountry == "US"
    # a company becomes the name and the person the contact
    assert (draft.invoicename, draft.invoicecontactname) == ("Doe Ltd", "John Doe")
    assert (draft.invoiceaddress, draft.invoicecity, draft.invoicecountry) == (
        "969 Market",
        "San Francisco",
        "US",
    )
    assert draft.emailaddress == "john.doe@example.com"
    assert draft.telephone == "(555) 555-5555"
    assert draft.customer_remarks == "Leave it at the back door"
    assert draft.language == "nl"
    assert draft.tags == ["woo", "webshop"]
    products = [(line.productcode, line.amount, line.price, line.shop_line_id) for line in draft.products]
    assert products == [("WOO-SINGLE-1", 2, 3.0, "315"), ("Bar3", 1, 12.0, "316")]
    # HTML entities in Woo's product names are decoded
    assert draft.products[1].name == "Ship Your Idea \u2013 Color: Black, Size: M Test"
    assert "tags" not in draft.create_payload()


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pending", ShopOrderState.UNPAID),
        ("on-hold", ShopOrderState.UNPAID),
        ("failed", ShopOrderState.UNPAID),
        ("checkout-draft", ShopOrderState.UNPAID),
        ("cancelled", ShopOrderState.CANCELLED),
        ("refunded", ShopOrderState.CANCELLED),
        ("trash", ShopOrderState.CANCELLED),
    ],
)
def test_statuses_other_than_processing(rules: MappingRules, status: str, state: ShopOrderState) -> None:
    # the sample's SKU-less line does not matter: only paid orders are checked line by line
    mapped = map_order({**sample(727), "status": status}, rules)
    assert mapped.state is state
    assert mapped.draft is None
    assert status in (mapped.reason or "")


def test_paid_statuses_override(rules: MappingRules) -> None:
    custom = rules.model_copy(update={"paid_statuses": ["on-hold"]})
    assert map_order(shippable(status="on-hold"), custom).state is ShopOrderState.READY
    assert map_order(shippable(status="processing"), custom).state is ShopOrderState.UNPAID


def test_refunded_units_are_not_shipped(rules: MappingRules) -> None:
    order = shippable(refunds=[refund_with_line(315, 1), {"id": 3, "reason": "postage", "total": "-10.00"}])
    mapped = map_order(order, rules)
    assert mapped.draft is not None
    assert [(line.productcode, line.amount) for line in mapped.draft.products] == [
        ("WOO-SINGLE-1", 1),
        ("Bar3", 1),
    ]


def test_refund_line_with_positive_quantity_or_direct_id_counts_the_same(rules: MappingRules) -> None:
    refund = {"id": 1, "line_items": [{"id": 9, "quantity": 1, "refunded_item_id": 316}]}
    mapped = map_order(shippable(refunds=[refund]), rules)
    assert mapped.draft is not None
    assert [line.productcode for line in mapped.draft.products] == ["WOO-SINGLE-1"]


def test_a_fully_refunded_line_without_sku_does_not_fail_the_order(rules: MappingRules) -> None:
    mapped = map_order({**sample(727), "refunds": [refund_with_line(315, 2)]}, rules)
    assert mapped.state is ShopOrderState.READY
    assert mapped.draft is not None
    assert [line.productcode for line in mapped.draft.products] == ["Bar3"]


def test_every_line_refunded_leaves_nothing_to_ship(rules: MappingRules) -> None:
    order = shippable(refunds=[refund_with_line(315, 2), refund_with_line(316, 1)])
    mapped = map_order(order, rules)
    assert mapped.state is ShopOrderState.NOTHING_TO_SHIP
    assert "refund" in (mapped.reason or "")


def test_money_only_refunds_change_no_quantity(rules: MappingRules) -> None:
    mapped = map_order(shippable(refunds=[{"id": 726, "refund": "", "total": "-10.00"}]), rules)
    assert mapped.draft is not None
    assert [line.amount for line in mapped.draft.products] == [2, 1]


def test_empty_shipping_falls_back_to_billing(rules: MappingRules) -> None:
    empty = {key: "" for key in sample(727)["shipping"]}
    mapped = map_order(shippable(shipping=empty), rules)
    assert mapped.draft is not None
    assert (mapped.draft.deliveryname, mapped.draft.deliveryaddress) == ("John Doe", "969 Market")
    assert mapped.draft.deliverycountry == "US"


def test_no_address_at_all_fails(rules: MappingRules) -> None:
    empty = {key: "" for key in sample(727)["billing"]}
    with pytest.raises(MappingError, match="no delivery address"):
        map_order(shippable(shipping={}, billing=empty), rules)


@pytest.mark.parametrize("country", ["Netherlands", "", "NLD"])
def test_bad_country_fails_naming_the_field(rules: MappingRules, country: str) -> None:
    order = shippable(shipping={**sample(727)["shipping"], "country": country})
    with pytest.raises(MappingError) as caught:
        map_order(order, rules)
    assert caught.value.field == "shipping.country"


def test_missing_number_falls_back_to_id_and_string_prices_parse(rules: MappingRules) -> None:
    order = shippable(number="")
    order["line_items"][1]["price"] = "12.50"
    mapped = map_order(order, rules)
    assert mapped.shop_order_number == "727"
    assert mapped.draft is not None
    assert mapped.draft.products[1].price == 12.5


def test_order_without_id_is_a_mapping_error(rules: MappingRules) -> None:
    with pytest.raises(MappingError):
        map_order({"status": "processing"}, rules)
