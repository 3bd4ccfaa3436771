"""The shop's shipping method picks Picqer's shipping profile, per source, on each platform's sample."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.draft import MappingRules, OrderDraft
from adapters.magento.mapper import map_order as map_magento
from adapters.shopify.mapper import map_order as map_shopify
from adapters.woocommerce.mapper import map_order as map_woocommerce
from tests.conftest import samples_dir


def _sample(name: str) -> Any:
    return json.loads((samples_dir() / name).read_text())


def shopify_paid() -> dict[str, Any]:
    order: dict[str, Any] = _sample("shopify-order-1.json")["order"]
    order["financial_status"] = "paid"
    return order


def woocommerce_with_skus() -> dict[str, Any]:
    order: dict[str, Any] = _sample("woocommerce-orders-list-1.json")[0]
    order["line_items"] = [line for line in order["line_items"] if line["sku"]]
    return order


def magento_paid() -> dict[str, Any]:
    order: dict[str, Any] = _sample("magento-order-1.json")
    order.update(state="processing", status="processing")
    return order


CASES = [
    ("shopify", map_shopify, shopify_paid, "free shipping"),  # shipping_lines[].code, any case
    ("woocommerce", map_woocommerce, woocommerce_with_skus, "flat_rate"),  # shipping_lines[].method_id
    ("magento", map_magento, magento_paid, "tablerate_bestway"),  # the shipping assignment's method
]


def _draft(platform: str, mapper: Any, build: Any, profiles: dict[str, int]) -> OrderDraft:
    rules = MappingRules(source="shop", platform=platform, shipping_profiles=profiles)
    draft = mapper(build(), rules).draft
    assert draft is not None
    return draft


@pytest.mark.parametrize(("platform", "mapper", "build", "method"), CASES)
def test_a_named_shipping_method_sets_the_picqer_profile(
    platform: str, mapper: Any, build: Any, method: str
) -> None:
    draft = _draft(platform, mapper, build, {method: 821, "something else": 9})
    assert draft.idshippingprovider_profile == 821
    assert draft.create_payload()["idshippingprovider_profile"] == 821


@pytest.mark.parametrize(("platform", "mapper", "build", "method"), CASES)
def test_an_unnamed_method_leaves_the_profile_to_picqer(
    platform: str, mapper: Any, build: Any, method: str
) -> None:
    draft = _draft(platform, mapper, build, {"pigeon post": 5})
    assert draft.idshippingprovider_profile is None
    assert "idshippingprovider_profile" not in draft.create_payload()  # Picqer's own default applies
