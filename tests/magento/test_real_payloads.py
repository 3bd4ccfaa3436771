"""Orders built like Adobe's published ``GET /V1/orders/{id}`` example, and what the mapper and the
file reader make of them.

The shape follows the docs' order: a simple row, a downloadable (virtual) row, a bundle parent with
priced children, a configurable parent with a price-0 child, the shipping address only under
``extension_attributes.shipping_assignments``, timestamps without a zone, ``status_histories``.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.draft import MappedOrder, MappingRules, ShopOrderState
from adapters.magento.mapper import map_order
from tests.support.mutations import mutate
from worker.errors import MappingError
from worker.sync.files import orders_in

RULES = MappingRules(source="m", platform="magento")


def _row(
    item_id: int, sku: str, name: str, product_type: str, price: float, **changes: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "item_id": item_id,
        "order_id": 30,
        "sku": sku,
        "name": name,
        "product_type": product_type,
        "parent_item_id": None,
        "qty_ordered": 1,
        "qty_shipped": 0,
        "qty_refunded": 0,
        "qty_canceled": 0,
        "qty_invoiced": 1,
        "price": price,
        "is_virtual": 0,
    }
    row.update(changes)
    return row


def _address(kind: str, **changes: Any) -> dict[str, Any]:
    address: dict[str, Any] = {
        "address_type": kind,
        "city": "Utrecht",
        "country_id": "NL",
        "email": "kim@example.nl",
        "entity_id": 7,
        "firstname": "Kim",
        "lastname": "de Vries",
        "parent_id": 30,
        "postcode": "3511 AB",
        "region": "Utrecht",
        "region_code": "UT",
        "region_id": 0,
        "street": ["Oudegracht", "12 A"],
        "telephone": "030-1234567",
    }
    address.update(changes)
    return address


def docs_like_order(state: str = "processing", status: str = "processing") -> dict[str, Any]:
    bundle = 33
    configurable = 38
    return {
        "entity_id": 30,
        "increment_id": "000000030",
        "state": state,
        "status": status,
        "created_at": "2024-08-21 22:22:19",
        "updated_at": "2024-08-22 08:00:01",
        "customer_email": "kim@example.nl",
        "customer_firstname": "Kim",
        "customer_lastname": "de Vries",
        "customer_is_guest": 1,
        "order_currency_code": "EUR",
        "grand_total": 150,
        "total_due": 0,
        "is_virtual": 0,
        "items": [
            _row(31, "TEE-M-ORANGE", "Radiant Tee-M-Orange", "simple", 22),
            _row(32, "VIDEO-1", "Yoga video", "downloadable", 18, is_virtual=1),
            _row(bundle, "KIT-A-B", "Yoga Kit", "bundle", 44),
            _row(34, "KIT-A", "Yoga Ball", "simple", 27, parent_item_id=bundle),
            _row(35, "KIT-B", "Yoga Brick", "simple", 17, parent_item_id=bundle, qty_ordered=2),
            _row(configurable, "HOODIE-S-GRAY", "Hoodie", "configurable", 52),
            _row(39, "HOODIE-S-GRAY", "Hoodie-S-Gray", "simple", 0, parent_item_id=configurable),
        ],
        "billing_address": _address("billing"),
        "payment": {"method": "checkmo", "amount_ordered": 150},
        "status_histories": [],
        "extension_attributes": {
            "shipping_assignments": [
                {
                    "shipping": {"address": _address("shipping"), "method": "flatrate_flatrate", "total": {}},
                    "items": [],
                }
            ]
        },
    }


def test_processing_order_ships_one_level_per_product() -> None:
    mapped = map_order(docs_like_order(), RULES)
    assert mapped.state is ShopOrderState.READY
    assert (mapped.shop_order_id, mapped.shop_order_number, mapped.shop_status) == (
        "30",
        "000000030",
        "processing",
    )
    draft = mapped.draft
    assert draft is not None
    assert [(line.productcode, line.amount, line.price, line.shop_line_id) for line in draft.products] == [
        ("TEE-M-ORANGE", 1, 22.0, "31"),
        ("KIT-A", 1, 27.0, "34"),
        ("KIT-B", 2, 17.0, "35"),
        ("HOODIE-S-GRAY", 1, 52.0, "38"),
    ]
    assert draft.reference == "000000030"
    assert (draft.deliveryname, draft.deliveryaddress, draft.deliveryaddress2) == (
        "Kim de Vries",
        "Oudegracht 12 A",
        None,
    )
    assert (draft.deliveryzipcode, draft.deliverycity, draft.deliveryregion, draft.deliverycountry) == (
        "3511 AB",
        "Utrecht",
        "Utrecht",
        "NL",
    )
    assert (draft.invoicename, draft.invoicecountry) == ("Kim de Vries", "NL")
    assert (draft.emailaddress, draft.telephone) == ("kim@example.nl", "030-1234567")


@pytest.mark.parametrize(
    ("state", "status", "verdict"),
    [
        ("new", "pending", ShopOrderState.UNPAID),
        ("pending_payment", "pending_payment", ShopOrderState.UNPAID),
        ("holded", "holded", ShopOrderState.UNPAID),
        ("canceled", "canceled", ShopOrderState.CANCELLED),
        ("closed", "closed", ShopOrderState.CANCELLED),
        ("complete", "complete", ShopOrderState.NOTHING_TO_SHIP),
    ],
)
def test_state_verdicts(state: str, status: str, verdict: ShopOrderState) -> None:
    mapped = map_order(docs_like_order(state, status), RULES)
    assert mapped.state is verdict
    assert mapped.reason


def test_partly_shipped_refunded_and_cancelled_rows_leave_only_the_rest() -> None:
    order = docs_like_order()
    order["items"][0].update(qty_ordered=3, qty_shipped=1, qty_refunded=1)
    order["items"][4].update(qty_canceled=2)
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert [(line.productcode, line.amount) for line in draft.products] == [
        ("TEE-M-ORANGE", 1),
        ("KIT-A", 1),
        ("HOODIE-S-GRAY", 1),
    ]


def test_numbers_as_strings_are_read() -> None:
    order = docs_like_order()
    order["entity_id"] = "30"
    order["items"][0].update(qty_ordered="2.0000", price="22.5000", item_id="31", is_virtual="0")
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert (draft.products[0].amount, draft.products[0].price, draft.products[0].shop_line_id) == (
        2,
        22.5,
        "31",
    )


def test_without_extension_attributes_it_fails_readably() -> None:
    order = docs_like_order()
    del order["extension_attributes"]
    with pytest.raises(MappingError, match="no shipping address") as caught:
        map_order(order, RULES)
    assert caught.value.field == "extension_attributes.shipping_assignments[0].shipping.address"


@pytest.mark.parametrize(
    "extension", [None, {}, {"shipping_assignments": None}, {"shipping_assignments": [None]}]
)
def test_odd_extension_attributes_fail_readably(extension: Any) -> None:
    order = docs_like_order()
    order["extension_attributes"] = extension
    with pytest.raises(MappingError, match="no shipping address"):
        map_order(order, RULES)


@pytest.mark.parametrize("billing", [None, {}, {"street": [], "country_id": None}])
def test_an_empty_billing_address_sends_the_invoice_to_the_delivery_address(billing: Any) -> None:
    order = docs_like_order()
    order["billing_address"] = billing
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert draft.invoicecountry is None  # no invoice fields: Picqer uses the delivery address
    assert draft.deliverycountry == "NL"


def test_visible_status_comment_is_the_customer_remark() -> None:
    order = docs_like_order()
    order["status_histories"] = [
        {
            "comment": "internal note",
            "is_visible_on_front": 0,
            "created_at": "2024-08-21 22:23:00",
            "entity_id": 9,
        },
        {
            "comment": "Please ring twice",
            "is_visible_on_front": 1,
            "created_at": "2024-08-21 22:22:19",
            "entity_id": "x",
        },
    ]
    draft = map_order(order, RULES).draft
    assert draft is not None
    assert draft.customer_remarks == "Please ring twice"


def test_search_result_is_read_as_orders() -> None:
    found = orders_in(
        {"items": [docs_like_order()], "search_criteria": {}, "total_count": 1}, origin="search"
    )
    assert [map_order(order, RULES).state for order in found] == [ShopOrderState.READY]


def test_no_items_list_is_a_mapping_error() -> None:
    order = docs_like_order()
    order["items"] = None
    with pytest.raises(MappingError) as caught:
        map_order(order, RULES)
    assert caught.value.field == "items"


# -- never crashes ------------------------------------------------------------------------------------


def _with_remarks() -> dict[str, Any]:
    order = docs_like_order()
    order["status_histories"] = [
        {"comment": "a", "is_visible_on_front": 1, "created_at": "2024-08-21 22:22:19", "entity_id": 5},
        {"comment": "b", "is_visible_on_front": 1, "created_at": "2024-08-21 22:22:19", "entity_id": 6},
    ]
    return order


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), steps=st.integers(1, 5))
def test_mutated_real_shapes_map_or_fail_readably_never_crash(seed: int, steps: int) -> None:
    mutated = mutate(_with_remarks(), random.Random(seed), steps)
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
