"""map_order on Shopify's own samples and on orders built like them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from adapters.draft import MappingRules, ShopOrderState
from adapters.shopify.mapper import map_order
from tests.shopify.conftest import load_sample
from worker.errors import MappingError

RULES = MappingRules(source="shop-nl", platform="shopify")


def sample_order() -> dict[str, Any]:
    order: dict[str, Any] = load_sample("shopify-order-1.json")["order"]
    return order


def paid_order() -> dict[str, Any]:
    order = sample_order()
    order["financial_status"] = "paid"
    return order


def test_authorized_sample_waits_for_capture() -> None:
    mapped = map_order(sample_order(), RULES)
    assert mapped.state is ShopOrderState.UNPAID
    assert mapped.reason is not None
    assert "authorized" in mapped.reason
    assert mapped.draft is None
    assert (mapped.shop_order_id, mapped.shop_order_number) == ("450789469", "#1001")
    assert mapped.shop_status == "authorized"
    assert mapped.shop_updated_at is not None
    assert mapped.shop_updated_at.utcoffset() is not None


def test_paid_copy_of_sample_maps_lines_addresses_and_reference() -> None:
    mapped = map_order(paid_order(), RULES)
    assert mapped.state is ShopOrderState.READY
    draft = mapped.draft
    assert draft is not None
    assert draft.reference == "#1001"
    assert [(line.productcode, line.amount, line.price) for line in draft.products] == [
        ("IPOD2008GREEN", 1, 199.0),
        ("IPOD2008RED", 1, 199.0),
        ("IPOD2008BLACK", 1, 199.0),
    ]
    assert draft.products[0].name == "IPod Nano - 8gb - green"
    assert draft.products[0].remarks == "Custom Engraving: Happy Birthday"
    assert draft.products[0].shop_line_id == "466157049"
    assert draft.deliveryname == "Bob Norman"
    assert draft.deliverycontactname is None  # no company: the person is the addressee
    assert (draft.deliveryaddress, draft.deliveryaddress2) == ("Chestnut Street 92", None)
    assert (draft.deliveryzipcode, draft.deliverycity, draft.deliveryregion) == (
        "40202",
        "Louisville",
        "Kentucky",
    )
    assert (draft.deliverycountry, draft.invoicecountry) == ("US", "US")
    assert draft.invoicename == "Bob Norman"
    assert draft.emailaddress == "bob.norman@hostmail.com"
    assert draft.telephone == "555-625-1199"  # no order phone: the shipping address's
    assert draft.customer_remarks == "custom engraving: Happy Birthday\ncolour: green"
    assert draft.tags == ["shop-nl"]
    assert draft.language is None  # no customer_locale, no rule


def test_list_sample_partially_refunded_without_lines_has_nothing_to_ship() -> None:
    order = load_sample("shopify-orders-list-1.json")["orders"][0]
    mapped = map_order(order, RULES)
    assert mapped.state is ShopOrderState.NOTHING_TO_SHIP
    assert mapped.reason
    assert mapped.shop_status == "partially_refunded"


def test_company_becomes_delivery_name_with_person_as_contact() -> None:
    order = paid_order()
    order["shipping_address"]["company"] = "Norman Audio LLC"
    order["billing_address"] = None
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert (draft.deliveryname, draft.deliverycontactname) == ("Norman Audio LLC", "Bob Norman")
    assert (draft.invoicename, draft.invoicecontactname) == ("Norman Audio LLC", "Bob Norman")  # falls back


def test_quantities_are_what_is_still_to_ship() -> None:
    order = paid_order()
    green, red, black = order["line_items"]
    green.update(quantity=3, current_quantity=2, fulfillable_quantity=2)  # one refunded
    red.update(quantity=1, current_quantity=0, fulfillable_quantity=0)  # refunded: left out
    black.update(quantity=2, current_quantity=2)  # older payload: current_quantity only
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert [(line.productcode, line.amount) for line in draft.products] == [
        ("IPOD2008GREEN", 2),
        ("IPOD2008BLACK", 2),
    ]


def test_fulfillable_quantity_wins_over_current_quantity() -> None:
    order = paid_order()
    order["line_items"][0].update(quantity=4, current_quantity=4, fulfillable_quantity=1)
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert draft.products[0].amount == 1


def test_lines_without_shipping_are_left_out() -> None:
    order = paid_order()
    order["line_items"][1]["requires_shipping"] = False
    order["line_items"][1]["sku"] = ""  # a gift card without SKU is no problem: it is not shipped
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert [line.productcode for line in draft.products] == ["IPOD2008GREEN", "IPOD2008BLACK"]


def test_only_unshippable_lines_means_nothing_to_ship() -> None:
    order = paid_order()
    for line in order["line_items"]:
        line["requires_shipping"] = False
    order["shipping_address"] = None
    mapped = map_order(order, RULES)
    assert mapped.state is ShopOrderState.NOTHING_TO_SHIP


def test_line_without_sku_is_named() -> None:
    order = paid_order()
    order["line_items"][1]["sku"] = None
    with pytest.raises(MappingError, match=r"line 2 'IPod Nano - 8gb' has no SKU") as caught:
        map_order(order, RULES)
    assert caught.value.field == "line_items[1].sku"


def test_no_address_at_all_for_a_shipped_line_fails() -> None:
    # a null shipping_address falls back to the billing address, then the customer's default
    # address (see tests/shopify/test_real_payloads.py); only with none of them does it fail
    order = paid_order()
    order["shipping_address"] = None
    order["billing_address"] = None
    order["customer"]["default_address"] = None
    with pytest.raises(MappingError, match="no shipping address") as caught:
        map_order(order, RULES)
    assert caught.value.field == "shipping_address"


def test_country_must_be_iso2() -> None:
    order = paid_order()
    order["shipping_address"]["country_code"] = "USA"
    with pytest.raises(MappingError, match="'USA' is not an ISO-2"):
        map_order(order, RULES)


@pytest.mark.parametrize(
    ("changes", "state", "words"),
    [
        ({"cancelled_at": "2008-01-10T12:00:00-05:00", "cancel_reason": "fraud"}, "cancelled", "fraud"),
        ({"financial_status": "refunded"}, "cancelled", "refunded"),
        ({"financial_status": "voided"}, "cancelled", "voided"),
        ({"financial_status": "pending"}, "unpaid", "pending"),
        ({"financial_status": "partially_paid"}, "unpaid", "partially paid"),
    ],
)
def test_state_from_shop_status(changes: dict[str, Any], state: str, words: str) -> None:
    order = paid_order()
    order.update(changes)
    order["line_items"][0]["sku"] = ""  # no draft is built, so no mapping error either
    mapped = map_order(order, RULES)
    assert mapped.state == state
    assert mapped.reason is not None
    assert words in mapped.reason
    assert mapped.draft is None


def test_configured_paid_statuses_replace_the_default() -> None:
    rules = MappingRules(source="shop-nl", platform="shopify", paid_statuses=["paid", "authorized"])
    assert map_order(sample_order(), rules).state is ShopOrderState.READY
    partially_refunded = paid_order() | {"financial_status": "partially_refunded"}
    assert map_order(partially_refunded, rules).state is ShopOrderState.UNPAID


def test_contact_fallbacks_language_and_custom_tags() -> None:
    order = paid_order()
    order.update(email=None, contact_email="desk@example.nl", phone="+31201234567", customer_locale="nl-NL")
    order["note"] = "Ring twice"
    rules = MappingRules(source="shop-nl", platform="shopify", tags=["{platform}", "{source}", "webshop"])
    draft = map_order(order, rules).draft
    assert draft is not None
    assert (draft.emailaddress, draft.telephone, draft.language) == ("desk@example.nl", "+31201234567", "nl")
    assert draft.customer_remarks is not None
    assert draft.customer_remarks.startswith("Ring twice\n")
    assert draft.tags == ["shopify", "shop-nl", "webshop"]
    assert map_order(order | {"customer_locale": "de"}, RULES).draft.language is None  # type: ignore[union-attr]


def test_mapping_does_not_change_its_input() -> None:
    order = paid_order()
    before = copy.deepcopy(order)
    map_order(order, RULES)
    assert order == before
