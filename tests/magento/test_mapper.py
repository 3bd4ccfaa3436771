"""map_order on the vendor sample and on orders built like it."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.draft import MappingRules, ShopOrderState
from adapters.magento.mapper import map_order
from tests.magento.conftest import sample_order
from worker.errors import MappingError

RULES = MappingRules(source="shop-magento", platform="magento")
SAMPLE = sample_order()


def paid(order: dict[str, Any] | None = None) -> dict[str, Any]:
    copied = copy.deepcopy(order or SAMPLE)
    copied["state"] = copied["status"] = "processing"
    return copied


def row(order: dict[str, Any], item_id: int) -> dict[str, Any]:
    return next(item for item in order["items"] if item["item_id"] == item_id)


def lines(order: dict[str, Any]) -> dict[str, tuple[int, float | None]]:
    mapped = map_order(order, RULES)
    assert mapped.state is ShopOrderState.READY, mapped.reason
    assert mapped.draft is not None
    skus = [line.productcode for line in mapped.draft.products]
    assert len(skus) == len(set(skus)), f"a product was counted twice: {skus}"
    return {line.productcode: (line.amount, line.price) for line in mapped.draft.products}


def test_the_sample_is_unpaid_and_waits_with_a_reason() -> None:
    mapped = map_order(SAMPLE, RULES)
    assert mapped.state is ShopOrderState.UNPAID
    assert mapped.reason is not None
    assert "not paid" in mapped.reason
    assert mapped.draft is None
    assert (mapped.shop_order_id, mapped.shop_order_number) == ("3", "000000003")
    assert mapped.shop_status == "new (pending)"
    assert mapped.shop_updated_at == datetime(2017, 8, 21, 22, 22, 20, tzinfo=UTC)


def test_a_paid_sample_ships_each_product_once_at_one_level() -> None:
    assert lines(paid()) == {
        "WS12-M-Orange": (1, 22.0),
        # bundle: the children with their own prices, never the parent's joined SKU
        "24-WG082-blue": (1, 27.0),
        "24-WG084": (1, 5.0),
        "24-WG086": (1, 17.0),
        "24-WG088": (1, 19.0),
        # configurable: the child's SKU at the parent's price (the child row says 0)
        "MH01-S-Gray": (1, 52.0),
    }  # and the downloadable 240-LV08 is left out


def test_a_paid_sample_takes_the_delivery_address_from_the_shipping_assignment() -> None:
    order = paid()
    order["billing_address"].update(city="Albany", street=["1 Billing Rd"], postcode="12207")
    mapped = map_order(order, RULES)
    draft = mapped.draft
    assert draft is not None
    assert draft.reference == "000000003"
    assert (draft.deliveryname, draft.deliverycontactname) == ("Jane Doe", None)
    assert (draft.deliveryaddress, draft.deliveryzipcode, draft.deliverycity) == (
        "123 Oak Ave",
        "10577",
        "Purchase",
    )
    assert (draft.deliveryregion, draft.deliverycountry) == ("New York", "US")
    assert (draft.invoiceaddress, draft.invoicecity, draft.invoicezipcode) == (
        "1 Billing Rd",
        "Albany",
        "12207",
    )
    assert draft.emailaddress == "jdoe@example.com"
    assert draft.telephone == "512-555-1111"
    assert draft.tags == ["shop-magento"]
    assert draft.customer_remarks is None


def test_quantities_are_what_is_left_after_shipments_refunds_and_cancellations() -> None:
    order = paid()
    row(order, 3).update(qty_ordered=4, qty_shipped=1, qty_refunded=1, qty_canceled=1)  # 1 left
    row(order, 10).update(qty_ordered=2, qty_canceled=2)  # configurable parent: nothing left
    row(order, 7).update(qty_refunded=1)  # one bundle child refunded
    row(order, 8).update(qty_ordered=3, qty_shipped=1)  # another bundle child partly shipped
    assert lines(order) == {
        "WS12-M-Orange": (1, 22.0),
        "24-WG082-blue": (1, 27.0),
        "24-WG086": (2, 17.0),
        "24-WG088": (1, 19.0),
    }


def test_an_order_with_everything_shipped_has_nothing_to_ship() -> None:
    order = paid()
    for item in order["items"]:
        item["qty_shipped"] = item["qty_ordered"]
    mapped = map_order(order, RULES)
    assert mapped.state is ShopOrderState.NOTHING_TO_SHIP
    assert mapped.reason is not None
    assert "nothing left to ship" in mapped.reason


def test_virtual_rows_are_left_out_by_flag_or_product_type() -> None:
    order = paid()
    row(order, 3)["is_virtual"] = 1
    row(order, 7)["product_type"] = "virtual"
    assert set(lines(order)) == {"24-WG082-blue", "24-WG086", "24-WG088", "MH01-S-Gray"}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("canceled", ShopOrderState.CANCELLED),
        ("closed", ShopOrderState.CANCELLED),
        ("pending_payment", ShopOrderState.UNPAID),
        ("payment_review", ShopOrderState.UNPAID),
        ("holded", ShopOrderState.UNPAID),
    ],
)
def test_states_other_than_processing(state: str, expected: ShopOrderState) -> None:
    order = paid()
    order["state"] = order["status"] = state
    mapped = map_order(order, RULES)
    assert mapped.state is expected
    assert mapped.reason
    assert mapped.draft is None


def test_complete_is_never_pushed_even_when_named_paid() -> None:
    order = paid()
    order["state"] = order["status"] = "complete"
    rules = MappingRules(source="s", platform="magento", paid_statuses=["processing", "complete"])
    mapped = map_order(order, rules)
    assert mapped.state is ShopOrderState.NOTHING_TO_SHIP
    assert mapped.reason == "already complete in the shop"


def test_paid_statuses_override_the_default_and_match_a_status() -> None:
    rules = MappingRules(source="s", platform="magento", paid_statuses=["pending"])
    assert map_order(SAMPLE, rules).state is ShopOrderState.READY
    strict = MappingRules(source="s", platform="magento", paid_statuses=["paid_ready"])
    assert map_order(paid(), strict).state is ShopOrderState.UNPAID


def test_a_missing_shipping_assignment_is_a_mapping_error() -> None:
    order = paid()
    del order["extension_attributes"]
    with pytest.raises(MappingError) as caught:
        map_order(order, RULES)
    assert "no shipping address" in str(caught.value)
    assert caught.value.field is not None
    assert "shipping_assignments" in caught.value.field


def test_a_virtual_only_order_without_shipping_address_has_nothing_to_ship() -> None:
    order = paid()
    order["items"] = [row(order, 4)]
    del order["extension_attributes"]
    assert map_order(order, RULES).state is ShopOrderState.NOTHING_TO_SHIP


@pytest.mark.parametrize("country", ["USA", "", None, "1A"])
def test_a_bad_country_is_a_mapping_error(country: str | None) -> None:
    order = paid()
    order["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]["country_id"] = country
    with pytest.raises(MappingError) as caught:
        map_order(order, RULES)
    assert caught.value.field == "shipping address.country_id"


def test_a_row_without_sku_is_a_mapping_error_naming_the_row() -> None:
    order = paid()
    row(order, 3)["sku"] = ""
    with pytest.raises(MappingError) as caught:
        map_order(order, RULES)
    assert "row 3 (Radiant Tee-M-Orange)" in str(caught.value)
    assert caught.value.field == "items[item_id=3].sku"


def test_a_configurable_child_without_sku_falls_back_to_the_parent_sku() -> None:
    order = paid()
    row(order, 11)["sku"] = None
    assert lines(order)["MH01-S-Gray"] == (1, 52.0)


def test_a_fractional_quantity_is_a_mapping_error() -> None:
    order = paid()
    row(order, 3).update(qty_ordered=1.5, is_qty_decimal=1)
    with pytest.raises(MappingError, match="fractional"):
        map_order(order, RULES)


def test_company_house_number_line_and_remarks() -> None:
    order = paid()
    address = order["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]
    address.update(company="Doe B.V.", street=["Stationsplein", "12 A", "2nd floor"], country_id="nl")
    order["status_histories"] = [
        {
            "entity_id": 9,
            "comment": "internal note",
            "is_visible_on_front": 0,
            "created_at": "2017-08-22 10:00:00",
        },
        {
            "entity_id": 8,
            "comment": "later remark",
            "is_visible_on_front": 1,
            "created_at": "2017-08-22 09:00:00",
        },
        {
            "entity_id": 7,
            "comment": "Leave at the door",
            "is_visible_on_front": 1,
            "created_at": "2017-08-21 22:22:19",
        },
    ]
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert (draft.deliveryname, draft.deliverycontactname) == ("Doe B.V.", "Jane Doe")
    assert (draft.deliveryaddress, draft.deliveryaddress2) == ("Stationsplein 12 A", "2nd floor")
    assert draft.deliverycountry == "NL"
    assert draft.customer_remarks == "Leave at the door"
    order["customer_note"] = "Ring twice"
    assert map_order(order, RULES).draft.customer_remarks == "Ring twice"  # type: ignore[union-attr]


quantity = st.integers(min_value=0, max_value=5)


@given(ordered=st.integers(min_value=1, max_value=8), canceled=quantity, refunded=quantity, shipped=quantity)
def test_a_line_is_exactly_what_is_left_of_its_row(
    ordered: int, canceled: int, refunded: int, shipped: int
) -> None:
    order = paid()
    row(order, 10).update(
        qty_ordered=ordered, qty_canceled=canceled, qty_refunded=refunded, qty_shipped=shipped
    )
    left = ordered - canceled - refunded - shipped
    mapped = map_order(order, RULES)
    assert mapped.draft is not None
    amounts = [line.amount for line in mapped.draft.products if line.productcode == "MH01-S-Gray"]
    assert amounts == ([left] if left > 0 else [])
