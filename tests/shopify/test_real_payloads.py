"""Orders built like Shopify's own published payloads (the REST order fixtures of the official
Ruby and Python libraries), and what the mapper, the webhook check and the file reader make of them.

The dicts are written here with the same shapes and edge cases as those payloads: a partially
refunded order whose refunded and fulfilled lines have ``fulfillable_quantity`` 0, orders created
through the API without a shipping address (``billing_address`` null, ``customer`` null), a
cancelled order, and the null / string-number / missing-key drift seen in practice.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.draft import MappedOrder, MappingRules, ShopOrderState
from adapters.shopify.mapper import map_order
from adapters.shopify.webhooks import sign, verify_webhook
from tests.support.mutations import mutate
from worker.config import SourceSettings
from worker.errors import MappingError
from worker.sync.files import orders_in

RULES = MappingRules(source="s", platform="shopify")
HOOK_SETTINGS = SourceSettings(
    name="s", platform="shopify", url="https://s.myshopify.com", webhook_secret="hook-secret"
)


def _address(**changes: Any) -> dict[str, Any]:
    address: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "name": "Ada Lovelace",
        "company": None,
        "address1": "Main Street 7",
        "address2": "",
        "city": "Springfield",
        "zip": "40202",
        "province": "Kentucky",
        "province_code": "KY",
        "country": "United States",
        "country_code": "US",
        "phone": "+1(555)-000-1111",
        "latitude": 45.4,
        "longitude": -75.6,
    }
    address.update(changes)
    return address


def _line(line_id: int, sku: str, colour: str, current: int, fulfillable: int) -> dict[str, Any]:
    return {
        "id": line_id,
        "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
        "attributed_staffs": [],
        "current_quantity": current,
        "fulfillable_quantity": fulfillable,
        "fulfillment_service": "manual",
        "fulfillment_status": None,
        "gift_card": False,
        "grams": 200,
        "name": f"Pocket Radio - {colour}",
        "title": "Pocket Radio",
        "variant_title": colour,
        "price": "49.00",
        "price_set": {"shop_money": {"amount": "49.00", "currency_code": "USD"}},
        "product_exists": True,
        "product_id": 1001,
        "properties": [],
        "quantity": 1,
        "requires_shipping": True,
        "sku": sku,
        "taxable": True,
        "total_discount": "0.00",
        "variant_id": line_id + 1,
        "vendor": None,
        "tax_lines": [],
        "duties": [],
        "discount_allocations": [],
    }


def partially_refunded_order() -> dict[str, Any]:
    """Shaped like the official fixture: 3 lines, one refunded, one fulfilled, one left to ship."""
    refunded = _line(11, "RADIO-BLUE", "blue", current=0, fulfillable=0)
    left = _line(12, "RADIO-RED", "red", current=1, fulfillable=1)
    shipped = _line(13, "RADIO-GREY", "grey", current=1, fulfillable=0)
    shipped["fulfillment_status"] = "fulfilled"
    refunded["properties"] = [{"name": "Engraving", "value": "Hi"}]
    return {
        "id": 5550001,
        "admin_graphql_api_id": "gid://shopify/Order/5550001",
        "app_id": None,
        "cancel_reason": None,
        "cancelled_at": None,
        "closed_at": None,
        "client_details": {"accept_language": None, "browser_ip": "0.0.0.0", "user_agent": None},
        "confirmation_number": None,
        "contact_email": "ada@example.com",
        "created_at": "2024-01-10T11:00:00-05:00",
        "currency": "USD",
        "current_total_duties_set": None,
        "customer_locale": None,
        "email": "ada@example.com",
        "financial_status": "partially_refunded",
        "fulfillment_status": "partial",
        "name": "#2001",
        "note": None,
        "note_attributes": [{"name": "gift wrap", "value": "yes"}, {"name": "colour", "value": "red"}],
        "number": 1,
        "order_number": 2001,
        "phone": "+15550001234",
        "po_number": "PO-9",
        "tags": "",
        "test": False,
        "updated_at": "2024-01-11T09:30:00-05:00",
        "billing_address": _address(),
        "shipping_address": _address(),
        "customer": {
            "id": 77,
            "email": "ada@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "phone": "+15559990000",
            "sms_marketing_consent": None,
            "default_address": _address(first_name=None, last_name=None, name="", phone="555-625-1199"),
        },
        "fulfillments": [{"id": 901, "status": "success", "origin_address": {}, "line_items": [shipped]}],
        "line_items": [refunded, left, shipped],
        "payment_terms": None,
        "refunds": [
            {
                "id": 801,
                "note": "broke in transit",
                "order_adjustments": [],
                "transactions": [{"id": 802, "amount": "49.00", "kind": "refund", "status": "success"}],
                "refund_line_items": [
                    {"id": 803, "line_item_id": 11, "quantity": 1, "subtotal": 49.0, "line_item": refunded}
                ],
            }
        ],
        "shipping_lines": [{"id": 701, "code": "Free", "price": "0.00", "title": "Free", "phone": None}],
    }


def api_created_order(financial_status: str = "paid") -> dict[str, Any]:
    """Shaped like the fixtures' API-created orders: no shipping address key, billing null."""
    return {
        "id": 5550002,
        "name": "#2002",
        "order_number": 2002,
        "financial_status": financial_status,
        "fulfillment_status": None,
        "cancelled_at": None,
        "client_details": None,
        "email": "grace@example.com",
        "phone": None,
        "note": None,
        "note_attributes": [],
        "updated_at": "2024-02-01T10:00:00-05:00",
        "billing_address": None,
        "customer": None,
        "fulfillments": [],
        "refunds": [],
        "shipping_lines": [],
        "line_items": [_line(21, "RADIO-BLACK", "black", current=1, fulfillable=1)],
    }


def test_partially_refunded_order_ships_only_what_is_left() -> None:
    mapped = map_order(partially_refunded_order(), RULES)
    assert mapped.state is ShopOrderState.READY
    assert (mapped.shop_order_id, mapped.shop_order_number) == ("5550001", "#2001")
    assert mapped.shop_status == "partially_refunded, partial"
    draft = mapped.draft
    assert draft is not None
    assert [(line.productcode, line.amount, line.price, line.shop_line_id) for line in draft.products] == [
        ("RADIO-RED", 1, 49.0, "12")
    ]
    assert draft.reference == "#2001"
    assert (draft.deliveryname, draft.deliverycontactname) == ("Ada Lovelace", None)
    assert (draft.deliveryaddress, draft.deliveryaddress2, draft.deliveryzipcode) == (
        "Main Street 7",
        None,
        "40202",
    )
    assert (draft.deliverycity, draft.deliveryregion, draft.deliverycountry) == (
        "Springfield",
        "Kentucky",
        "US",
    )
    assert (draft.invoicename, draft.invoicecountry) == ("Ada Lovelace", "US")
    assert (draft.emailaddress, draft.telephone) == ("ada@example.com", "+15550001234")
    assert draft.customer_remarks == "gift wrap: yes\ncolour: red"
    assert draft.tags == ["s"]


def test_the_same_order_as_a_list_response_and_as_a_single_order_response() -> None:
    order = partially_refunded_order()
    for document in ({"orders": [order]}, {"order": order}, order):
        (found,) = orders_in(copy.deepcopy(document), origin="test")
        assert map_order(found, RULES).draft == map_order(order, RULES).draft


def test_company_on_the_address_becomes_the_name_with_the_person_as_contact() -> None:
    order = partially_refunded_order()
    order["shipping_address"]["company"] = "Analytical Engines Ltd"
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert (draft.deliveryname, draft.deliverycontactname) == ("Analytical Engines Ltd", "Ada Lovelace")


def test_cancelled_order_is_cancelled_whatever_its_payment() -> None:
    order = partially_refunded_order()
    order.update(
        cancelled_at="2024-01-12T08:00:00-05:00", cancel_reason="customer", financial_status="refunded"
    )
    mapped = map_order(order, RULES)
    assert mapped.state is ShopOrderState.CANCELLED
    assert mapped.reason == "cancelled in Shopify (reason: customer)"
    assert mapped.draft is None


def test_closed_but_not_cancelled_order_still_ships_what_is_left() -> None:
    order = partially_refunded_order()
    order["closed_at"] = "2024-01-12T08:00:00-05:00"
    mapped = map_order(order, RULES)
    assert mapped.state is ShopOrderState.READY


@pytest.mark.parametrize(
    ("financial_status", "words"),
    [
        ("pending", "payment is pending"),
        ("partially_paid", "only partially paid"),
        ("authorized", "not captured"),
    ],
)
def test_unpaid_api_orders_wait_with_a_reason(financial_status: str, words: str) -> None:
    mapped = map_order(api_created_order(financial_status), RULES)
    assert mapped.state is ShopOrderState.UNPAID
    assert mapped.reason is not None
    assert words in mapped.reason
    assert "ships when paid or partially_refunded" in mapped.reason


@pytest.mark.parametrize("shipping", ["absent", None, {}, {"address1": "", "country_code": "US"}])
def test_paid_order_without_shipping_address_falls_back_to_billing(shipping: Any) -> None:
    order = api_created_order()
    order["billing_address"] = _address(name="Grace Hopper", address1="Billing Lane 1", city="Arlington")
    if shipping != "absent":
        order["shipping_address"] = shipping
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert (draft.deliveryname, draft.deliveryaddress, draft.deliverycity) == (
        "Grace Hopper",
        "Billing Lane 1",
        "Arlington",
    )
    assert (draft.invoiceaddress, draft.deliverycountry) == ("Billing Lane 1", "US")
    assert draft.telephone == "+1(555)-000-1111"  # the address's phone: the order has none


def test_then_falls_back_to_the_customers_default_address() -> None:
    order = api_created_order()
    order["shipping_address"] = None
    order["customer"] = {
        "id": 78,
        "email": "grace@example.com",
        "first_name": "Grace",
        "last_name": "Hopper",
        "phone": None,
        "default_address": _address(first_name=None, last_name=None, name="", address1="Home Road 3"),
    }
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert (draft.deliveryname, draft.deliveryaddress) == (
        "Grace Hopper",
        "Home Road 3",
    )  # name from customer
    assert (draft.invoicename, draft.invoiceaddress) == ("Grace Hopper", "Home Road 3")


def test_paid_order_with_no_address_anywhere_fails_with_a_readable_reason() -> None:
    with pytest.raises(MappingError) as caught:
        map_order(api_created_order(), RULES)
    assert caught.value.field == "shipping_address"
    assert "#2002 has no shipping address" in str(caught.value)


def test_no_address_is_no_problem_when_nothing_needs_shipping() -> None:
    order = api_created_order()
    order["line_items"][0]["requires_shipping"] = False
    mapped = map_order(order, RULES)
    assert mapped.state is ShopOrderState.NOTHING_TO_SHIP


def test_gift_cards_are_never_shipped() -> None:
    order = partially_refunded_order()
    gift = _line(14, "", "card", current=1, fulfillable=1)
    gift.update(gift_card=True, requires_shipping=False)
    order["line_items"].append(gift)
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert [line.productcode for line in draft.products] == ["RADIO-RED"]


@pytest.mark.parametrize("line_items", ["absent", None, []])
def test_order_without_line_items_has_nothing_to_ship(line_items: Any) -> None:
    order = partially_refunded_order()
    if line_items == "absent":
        del order["line_items"]
    else:
        order["line_items"] = line_items
    mapped = map_order(order, RULES)
    assert mapped.state is ShopOrderState.NOTHING_TO_SHIP
    assert mapped.reason


def test_numbers_as_strings_and_nulls_where_objects_are_expected() -> None:
    order = partially_refunded_order()
    order.update(id="5550001", order_number="2001", customer=None, note_attributes=None, client_details=None)
    red = order["line_items"][1]
    red.update(fulfillable_quantity="2", price=49, properties=None, id="12")
    mapped = map_order(order, RULES)
    assert mapped.shop_order_id == "5550001"
    assert mapped.draft is not None
    assert [(line.productcode, line.amount, line.price) for line in mapped.draft.products] == [
        ("RADIO-RED", 2, 49.0)
    ]
    assert mapped.draft.customer_remarks is None


def test_a_quantity_that_is_not_a_number_names_the_line() -> None:
    order = partially_refunded_order()
    order["line_items"][1]["fulfillable_quantity"] = "two"
    with pytest.raises(MappingError) as caught:
        map_order(order, RULES)
    assert caught.value.field == "line_items[1].fulfillable_quantity"


def test_missing_sku_on_a_line_to_ship_names_the_line() -> None:
    order = partially_refunded_order()
    order["line_items"][1]["sku"] = ""
    with pytest.raises(MappingError, match="line 2 'Pocket Radio' has no SKU") as caught:
        map_order(order, RULES)
    assert caught.value.field == "line_items[1].sku"


def test_country_name_without_code_fails_naming_the_field() -> None:
    order = partially_refunded_order()
    order["shipping_address"]["country_code"] = None
    with pytest.raises(MappingError, match="'United States' is not an ISO-2") as caught:
        map_order(order, RULES)
    assert caught.value.field == "shipping_address.country_code"


def test_signed_webhook_body_of_a_real_order_verifies_and_maps() -> None:
    raw = json.dumps(partially_refunded_order(), ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"X-Shopify-Hmac-Sha256": sign(raw, "hook-secret"), "X-Shopify-Topic": "orders/updated"}
    hook = verify_webhook(raw, headers | {"X-Shopify-Webhook-Id": "w-1"}, HOOK_SETTINGS)
    assert (hook.topic, hook.shop_order_id, hook.event_key) == ("orders/updated", "5550001", "webhook-id:w-1")
    assert hook.order is not None
    assert map_order(hook.order, RULES).state is ShopOrderState.READY


# -- never crashes ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), steps=st.integers(1, 5), base=st.sampled_from(["refunded", "api"]))
def test_mutated_real_shapes_map_or_fail_readably_never_crash(seed: int, steps: int, base: str) -> None:
    order = partially_refunded_order() if base == "refunded" else api_created_order()
    if base == "api":
        order["shipping_address"] = _address()
    mutated = mutate(order, random.Random(seed), steps)
    try:
        mapped = map_order(mutated, RULES)
    except MappingError as error:
        reason = str(error)  # a readable reason is the only other allowed outcome
        mapped = None
    if mapped is None:
        assert reason
        return
    assert isinstance(mapped, MappedOrder)
    assert (mapped.draft is not None) == (mapped.state is ShopOrderState.READY)
