"""Orders built like the WooCommerce REST docs' order examples (create, retrieve, list, update,
batch), and what the mapper, the webhook check and the file reader make of them.

The shapes follow the docs: ``price`` a number while totals are strings, ``sku`` ``""`` on simple
products, ``&ndash;`` in names, refunds listed as ``{id, reason/refund, total}`` only, every
unset address field an empty string, and the status after an update (``completed``).
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.draft import MappedOrder, MappingRules, ShopOrderState
from adapters.woocommerce.mapper import map_order
from adapters.woocommerce.webhooks import sign, verify_webhook
from tests.support.mutations import mutate
from worker.config import SourceSettings
from worker.errors import MappingError, WebhookRejected
from worker.sync.files import orders_in

RULES = MappingRules(source="w", platform="woocommerce")
HOOK_SETTINGS = SourceSettings(
    name="w", platform="woocommerce", url="https://w.example", webhook_secret="whsec"
)


def _address(**changes: Any) -> dict[str, Any]:
    address = {
        "first_name": "Jan",
        "last_name": "Jansen",
        "company": "",
        "address_1": "Damrak 1",
        "address_2": "",
        "city": "Amsterdam",
        "state": "NH",
        "postcode": "1012 LG",
        "country": "NL",
    }
    address.update(changes)
    return address


def _line(line_id: int, name: str, sku: str, quantity: int, price: float) -> dict[str, Any]:
    return {
        "id": line_id,
        "name": name,
        "product_id": 90 + line_id,
        "variation_id": 0,
        "quantity": quantity,
        "tax_class": "",
        "subtotal": f"{price * quantity:.2f}",
        "subtotal_tax": "0.00",
        "total": f"{price * quantity:.2f}",
        "total_tax": "0.00",
        "taxes": [],
        "meta_data": [{"id": 1, "key": "pa_color", "value": "black"}],
        "sku": sku,
        "price": price,
    }


def docs_like_order(status: str = "processing") -> dict[str, Any]:
    return {
        "id": 1727,
        "parent_id": 0,
        "number": "1727",
        "order_key": "wc_order_abc",
        "created_via": "rest-api",
        "version": "3.0.0",
        "status": status,
        "currency": "EUR",
        "date_created": "2024-03-22T16:28:02",
        "date_created_gmt": "2024-03-22T15:28:02",
        "date_modified": "2024-03-22T16:28:08",
        "date_modified_gmt": "2024-03-22T15:28:08",
        "discount_total": "0.00",
        "shipping_total": "10.00",
        "total": "29.35",
        "prices_include_tax": False,
        "customer_id": 0,
        "customer_ip_address": "",
        "customer_user_agent": "",
        "customer_note": "",
        "billing": _address(email="jan@example.nl", phone="020 123 4567"),
        "shipping": _address(),
        "payment_method": "bacs",
        "payment_method_title": "Direct Bank Transfer",
        "transaction_id": "",
        "date_paid": "2024-03-22T16:28:08",
        "date_paid_gmt": "2024-03-22T15:28:08",
        "date_completed": None,
        "date_completed_gmt": None,
        "cart_hash": "",
        "meta_data": [{"id": 13106, "key": "_download_permissions_granted", "value": "yes"}],
        "line_items": [
            _line(315, "Mug", "MUG-1", 2, 3),
            _line(316, "Shirt &ndash; Color: Black, Size: M", "SHIRT-BM", 1, 12),
        ],
        "tax_lines": [],
        "shipping_lines": [
            {"id": 317, "method_title": "Flat Rate", "method_id": "flat_rate", "total": "10.00"}
        ],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
        "_links": {"self": [{"href": "https://example.com/wp-json/wc/v3/orders/1727"}]},
    }


def test_processing_order_maps_every_field() -> None:
    mapped = map_order(docs_like_order(), RULES)
    assert mapped.state is ShopOrderState.READY
    assert (mapped.shop_order_id, mapped.shop_order_number, mapped.shop_status) == (
        "1727",
        "1727",
        "processing",
    )
    draft = mapped.draft
    assert draft is not None
    assert [(line.productcode, line.amount, line.price, line.name) for line in draft.products] == [
        ("MUG-1", 2, 3.0, "Mug"),
        ("SHIRT-BM", 1, 12.0, "Shirt \u2013 Color: Black, Size: M"),
    ]
    assert draft.reference == "1727"
    assert (draft.deliveryname, draft.deliveryaddress, draft.deliveryzipcode) == (
        "Jan Jansen",
        "Damrak 1",
        "1012 LG",
    )
    assert (draft.deliverycity, draft.deliveryregion, draft.deliverycountry) == ("Amsterdam", "NH", "NL")
    assert (draft.invoicename, draft.invoicecountry) == ("Jan Jansen", "NL")
    assert (draft.emailaddress, draft.telephone) == ("jan@example.nl", "020 123 4567")
    assert draft.customer_remarks is None  # "" is no remark
    assert draft.deliveryaddress2 is None  # "" is no second line


def test_docs_line_without_sku_fails_naming_the_line() -> None:
    order = docs_like_order()
    order["line_items"][0]["sku"] = ""  # as on the docs' "Woo Single #1"
    with pytest.raises(MappingError, match=r"line 315 \(Mug\) has no SKU") as caught:
        map_order(order, RULES)
    assert caught.value.field == "line_items[0].sku"


def test_updated_to_completed_is_not_pushed() -> None:
    order = docs_like_order("completed")
    order.update(date_completed="2024-03-22T16:30:35", date_completed_gmt="2024-03-22T15:30:35")
    mapped = map_order(order, RULES)
    assert (mapped.state, mapped.reason) == (ShopOrderState.NOTHING_TO_SHIP, "already completed in the shop")


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pending", ShopOrderState.UNPAID),
        ("on-hold", ShopOrderState.UNPAID),
        ("failed", ShopOrderState.UNPAID),
        ("cancelled", ShopOrderState.CANCELLED),
        ("refunded", ShopOrderState.CANCELLED),
        ("trash", ShopOrderState.CANCELLED),
        ("Processing", ShopOrderState.READY),
    ],
)
def test_status_verdicts(status: str, state: ShopOrderState) -> None:
    mapped = map_order(docs_like_order(status), RULES)
    assert mapped.state is state
    assert (mapped.reason is None) == (state is ShopOrderState.READY)


def test_completed_list_entry_with_money_only_refunds_is_not_pushed() -> None:
    order = docs_like_order("completed")
    order["refunds"] = [
        {"id": 726, "refund": "", "total": "-10.00"},
        {"id": 724, "refund": "", "total": "-9.00"},
    ]
    assert map_order(order, RULES).state is ShopOrderState.NOTHING_TO_SHIP


def test_shipping_all_empty_strings_falls_back_to_billing() -> None:
    order = docs_like_order()
    order["shipping"] = {key: "" for key in _address()}
    order["billing"] = _address(first_name="Piet", company="Bakkerij BV", address_1="Kade 2", email="p@x.nl")
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert (draft.deliveryname, draft.deliverycontactname, draft.deliveryaddress) == (
        "Bakkerij BV",
        "Piet Jansen",
        "Kade 2",
    )


@pytest.mark.parametrize("shipping", [None, [], "", {"country": ""}])
def test_no_address_anywhere_fails_readably(shipping: Any) -> None:
    order = docs_like_order()
    order["shipping"] = shipping
    order["billing"] = {key: "" for key in _address()} | {"email": "", "phone": ""}
    with pytest.raises(MappingError, match="no delivery address") as caught:
        map_order(order, RULES)
    assert caught.value.field == "shipping"


def test_refund_lines_reduce_what_is_left_to_ship() -> None:
    order = docs_like_order()
    order["refunds"] = [
        {
            "id": 730,
            "reason": "",
            "total": "-3.00",
            "line_items": [
                {"id": 731, "quantity": -1, "meta_data": [{"key": "_refunded_item_id", "value": "315"}]}
            ],
        }
    ]
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert [(line.productcode, line.amount) for line in draft.products] == [("MUG-1", 1), ("SHIRT-BM", 1)]


def test_numbers_as_strings_and_missing_keys() -> None:
    order = docs_like_order()
    order["id"] = "1727"
    order["line_items"][0].update(quantity="2", price="3.00")
    del order["number"], order["customer_note"], order["meta_data"]
    mapped = map_order(order, RULES)
    assert (mapped.shop_order_id, mapped.shop_order_number) == ("1727", "1727")
    assert mapped.draft is not None
    assert (mapped.draft.products[0].amount, mapped.draft.products[0].price) == (2, 3.0)


@pytest.mark.parametrize("line_items", ["absent", None, []])
def test_no_line_items_has_nothing_to_ship(line_items: Any) -> None:
    order = docs_like_order()
    if line_items == "absent":
        del order["line_items"]
    else:
        order["line_items"] = line_items
    assert map_order(order, RULES).state is ShopOrderState.NOTHING_TO_SHIP


def test_the_list_response_is_read_as_orders() -> None:
    listed = [docs_like_order(), docs_like_order("completed") | {"id": 1723, "number": "1723"}]
    found = orders_in(json.loads(json.dumps(listed)), origin="list.json")
    assert [map_order(order, RULES).state for order in found] == [
        ShopOrderState.READY,
        ShopOrderState.NOTHING_TO_SHIP,
    ]


def test_signed_webhook_with_escaped_slashes_verifies_and_maps() -> None:
    # Woo's wp_json_encode escapes "/" as "\/": the signature is over exactly those bytes
    raw = json.dumps(docs_like_order()).replace("/", "\\/").encode()
    headers = {"X-WC-Webhook-Signature": sign(raw, "whsec"), "X-WC-Webhook-Topic": "order.updated"}
    hook = verify_webhook(raw, headers, HOOK_SETTINGS)
    assert (hook.topic, hook.shop_order_id) == ("order.updated", "1727")
    assert hook.order is not None
    assert map_order(hook.order, RULES).state is ShopOrderState.READY


def test_deleted_body_and_ping() -> None:
    raw = b'{"id":1727}'
    headers = {"X-WC-Webhook-Signature": sign(raw, "whsec"), "X-WC-Webhook-Topic": "order.deleted"}
    hook = verify_webhook(raw, headers, HOOK_SETTINGS)
    assert (hook.deleted, hook.shop_order_id) == (True, "1727")
    assert verify_webhook(b"webhook_id=12", {}, HOOK_SETTINGS).is_ping


def test_webhook_body_that_is_not_an_order_is_a_400() -> None:
    raw = json.dumps({"create": [docs_like_order()], "update": []}).encode()  # a batch response
    headers = {"X-WC-Webhook-Signature": sign(raw, "whsec"), "X-WC-Webhook-Topic": "order.updated"}
    with pytest.raises(WebhookRejected) as caught:
        verify_webhook(raw, headers, HOOK_SETTINGS)
    assert caught.value.status == 400


# -- never crashes ------------------------------------------------------------------------------------


def _with_refund_lines() -> dict[str, Any]:
    order = docs_like_order()
    order["refunds"] = [
        {
            "id": 1,
            "total": "-3",
            "line_items": [{"id": 2, "quantity": -1, "refunded_item_id": 315, "meta_data": []}],
        }
    ]
    return order


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), steps=st.integers(1, 5), refunds=st.booleans())
def test_mutated_real_shapes_map_or_fail_readably_never_crash(seed: int, steps: int, refunds: bool) -> None:
    order = _with_refund_lines() if refunds else docs_like_order()
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
