"""Every client method sends the documented method, path, query and body, and reads the answer."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

from adapters.picqer.client import PicqerClient
from adapters.picqer.connection import QueryValue
from adapters.picqer.models import (
    Customer,
    Hook,
    OrderFieldValue,
    OrderNote,
    OrderProduct,
    Picklist,
    PicqerOrder,
    Product,
    ProductStock,
    Shipment,
    Tag,
)
from adapters.settings import DEFAULT_USER_AGENT
from tests.picqer_client.conftest import API_KEY, BASE_URL, FakePicqer, doc_example

ORDER = {"idorder": 16860, "orderid": "20130028", "status": "concept", "reference": "shop-1001"}
TAG = {"idtag": 223, "title": "Zomer", "color": "#03008a", "inherit": False, "textColor": "#FFFFFF"}
LINE = {"idorder_product": 1272513, "idproduct": 1105248, "productcode": "AR2954212", "amount": 1}
PRODUCT = {"idproduct": 633, "productcode": "6531-RB-7-9", "name": "Vest", "price": 54.46}
STOCK = {"idwarehouse": 1829, "stock": 12, "reserved": 2, "freestock": 10}
HOOK = {
    "idhook": 30088,
    "name": "sync",
    "event": "orders.status_changed",
    "address": "https://x/y",
    "active": True,
}
PICKLIST = {"idpicklist": 53398250, "picklistid": "P2013-1832", "idorder": 6754, "status": "new"}
SHIPMENT = {"idshipment": 501, "idpicklist": 53398250, "idorder": 6754, "trackingcode": "3SABC"}


@dataclass
class Case:
    call: Callable[[PicqerClient], Any]
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    answer: Any = None
    status: int = 200
    check: Callable[[Any], bool] = lambda result: True


CASES: dict[str, Case] = {
    "list_orders": Case(
        lambda c: c.list_orders(status="processing", sincedate=datetime(2026, 1, 2, 3, 4, 5), offset=200),
        "GET",
        "orders",
        {"status": "processing", "sincedate": "2026-01-02 03:04:05", "offset": "200"},
        answer=[ORDER],
        check=lambda r: [o.idorder for o in r] == [16860] and isinstance(r[0], PicqerOrder),
    ),
    "get_order": Case(
        lambda c: c.get_order(16860),
        "GET",
        "orders/16860",
        answer=ORDER,
        check=lambda r: r.orderid == "20130028",
    ),
    "create_order": Case(
        lambda c: c.create_order(doc_example("create_order")["request"]),
        "POST",
        "orders",
        body=doc_example("create_order")["request"],
        answer=doc_example("create_order")["response"],
        status=201,
        check=lambda r: r.idorder == 16860 and r.status == "concept",
    ),
    "create_guest_order_by_productcode": Case(
        lambda c: c.create_order({"idcustomer": None, "products": [{"productcode": "SKU-1", "amount": 2}]}),
        "POST",
        "orders",
        body={"idcustomer": None, "products": [{"productcode": "SKU-1", "amount": 2}]},
        answer=ORDER,
        status=201,
    ),
    "update_order": Case(
        lambda c: c.update_order(16860, doc_example("update_order")["request"]),
        "PUT",
        "orders/16860",
        body=doc_example("update_order")["request"],
        answer=doc_example("update_order")["response"],
        check=lambda r: r.reference == "Webshop order #9927882",
    ),
    "process_order": Case(
        lambda c: c.process_order(16860),
        "POST",
        "orders/16860/process",
        answer=ORDER,
        check=lambda r: r.idorder == 16860,
    ),
    "pause_order": Case(
        lambda c: c.pause_order(2918, "address wrong"),
        "POST",
        "orders/2918/pause",
        body={"reason": "address wrong"},
        answer={"idorder": 2918, "status": "paused"},
        check=lambda r: r.status == "paused",
    ),
    "resume_order": Case(
        lambda c: c.resume_order(2918), "POST", "orders/2918/resume", answer={"idorder": 2918}
    ),
    "reopen_order": Case(
        lambda c: c.reopen_order(2918), "POST", "orders/2918/reopen", answer={"idorder": 2918}
    ),
    "cancel_order": Case(
        lambda c: c.cancel_order(2918), "DELETE", "orders/2918", status=204, check=lambda r: r is None
    ),
    "force_cancel_order": Case(
        lambda c: c.cancel_order(2918, force=True), "DELETE", "orders/2918", {"force": "true"}, status=204
    ),
    "undo_cancellation": Case(
        lambda c: c.undo_cancellation(2918), "POST", "orders/2918/undo-cancellation", answer={"idorder": 2918}
    ),
    "get_product_status": Case(
        lambda c: c.get_product_status(6576),
        "GET",
        "orders/6576/productstatus",
        answer=doc_example("productstatus")["response"],
        check=lambda r: (
            [(s.productcode, s.delivered, s.backorder) for s in r]
            == [("6531-RB-7-9", 1, 0), ("6531-RE", 0, 1)]
        ),
    ),
    "list_order_notes": Case(
        lambda c: c.list_order_notes(119088),
        "GET",
        "orders/119088/notes",
        answer=doc_example("list_notes")["response"],
        check=lambda r: r[0].created_at == datetime(2014, 8, 21, 12, 37, 6),
    ),
    "add_order_note": Case(
        lambda c: c.add_order_note(119088, "handle with care"),
        "POST",
        "orders/119088/notes",
        body={"note": "handle with care"},
        answer=doc_example("add_note")["response"],
        check=lambda r: isinstance(r, OrderNote) and r.idorder_log == 285078,
    ),
    "list_order_tags": Case(
        lambda c: c.list_order_tags(5),
        "GET",
        "orders/5/tags",
        {"offset": "0"},
        answer=doc_example("list_tags")["response"],
        check=lambda r: [t.title for t in r] == ["Winter", "Hoeden"],
    ),
    "add_order_tag": Case(
        lambda c: c.add_order_tag(5, 223),
        "POST",
        "orders/5/tags",
        body={"idtag": 223},
        answer=doc_example("add_tag")["response"],
        status=201,
        check=lambda r: isinstance(r, Tag) and r.idtag == 223 and r.text_color == "#FFFFFF",
    ),
    "remove_order_tag": Case(lambda c: c.remove_order_tag(5, 223), "DELETE", "orders/5/tags/223", status=204),
    "allocate_order": Case(lambda c: c.allocate_order(7), "POST", "orders/7/allocate", answer={"idorder": 7}),
    "deallocate_order": Case(
        lambda c: c.deallocate_order(7), "POST", "orders/7/deallocate", answer={"idorder": 7}
    ),
    "prioritise_order": Case(
        lambda c: c.prioritise_order(7), "POST", "orders/7/prioritise", answer={"idorder": 7}
    ),
    "process_backorders": Case(
        lambda c: c.process_backorders(7), "POST", "orders/7/process-backorders", answer={"idorder": 7}
    ),
    "process_backorders_bulk": Case(
        lambda c: c.process_backorders(7, prefer_bulk_locations=True),
        "POST",
        "orders/7/process-backorders",
        {"prefer_bulk_locations": "true"},
        answer={"idorder": 7},
    ),
    "anonymize_order": Case(
        lambda c: c.anonymize_order(6576),
        "POST",
        "orders/6576/anonymize",
        answer=doc_example("anonymize_order")["response"],
        check=lambda r: r.deliveryname == "Anonymous",
    ),
    "list_order_products": Case(
        lambda c: c.list_order_products(9),
        "GET",
        "orders/9/products",
        answer=[LINE],
        check=lambda r: isinstance(r[0], OrderProduct) and r[0].amount == 1,
    ),
    "add_order_product": Case(
        lambda c: c.add_order_product(9, doc_example("add_order_product")["request"]),
        "POST",
        "orders/9/products",
        body=doc_example("add_order_product")["request"],
        answer=doc_example("add_order_product")["response"],
        check=lambda r: r.idorder_product == 1272513 and r.price == 12.95,
    ),
    "update_order_product": Case(
        lambda c: c.update_order_product(9, 1272513, {"amount": 3}),
        "PUT",
        "orders/9/products/1272513",
        body={"amount": 3},
        answer={**LINE, "amount": 3},
        check=lambda r: r.amount == 3,
    ),
    "delete_order_product": Case(
        lambda c: c.delete_order_product(9, 1272513), "DELETE", "orders/9/products/1272513", status=204
    ),
    "list_order_fields": Case(
        lambda c: c.list_order_fields(9),
        "GET",
        "orders/9/orderfields",
        answer=[{"idorderfield": 35, "title": "Klantreferentie", "value": "1029"}],
        check=lambda r: isinstance(r[0], OrderFieldValue) and r[0].value == "1029",
    ),
    "set_order_field": Case(
        lambda c: c.set_order_field(9, 3827, "Johns"),
        "PUT",
        "orders/9/orderfields/3827",
        body={"value": "Johns"},
        answer=doc_example("set_order_field")["response"],
        check=lambda r: (r.idorderfield, r.value) == (3827, "Johns"),
    ),
    "delete_order_field": Case(
        lambda c: c.delete_order_field(9, 3827), "DELETE", "orders/9/orderfields/3827", status=204
    ),
    "iter_tags": Case(
        lambda c: list(c.iter_tags()),
        "GET",
        "tags",
        {"offset": "0"},
        answer=[TAG],
        check=lambda r: [t.idtag for t in r] == [223],
    ),
    "create_tag": Case(
        lambda c: c.create_tag("shop-a"),
        "POST",
        "tags",
        body={"title": "shop-a", "color": "#2e7d32", "inherit": False},
        answer={**TAG, "title": "shop-a"},
        status=201,
        check=lambda r: r.title == "shop-a",
    ),
    "create_tag_options": Case(
        lambda c: c.create_tag("vip", color="#ff0000", inherit=True),
        "POST",
        "tags",
        body={"title": "vip", "color": "#ff0000", "inherit": True},
        answer=TAG,
    ),
    "get_product_by_code": Case(
        lambda c: c.get_product_by_code("6531-RB-7-9"),
        "GET",
        "products",
        {"productcode": "6531-RB-7-9"},
        answer=[{**PRODUCT, "idproduct": 1, "productcode": "6531-RB-7-9-X"}, PRODUCT],
        check=lambda r: isinstance(r, Product) and r.idproduct == 633,
    ),
    "get_product_by_code_missing": Case(
        lambda c: c.get_product_by_code("nope"),
        "GET",
        "products",
        {"productcode": "nope"},
        answer=[],
        check=lambda r: r is None,
    ),
    "get_product": Case(
        lambda c: c.get_product(633), "GET", "products/633", answer=PRODUCT, check=lambda r: r.price == 54.46
    ),
    "create_product": Case(
        lambda c: c.create_product({"name": "Vest", "productcode": "V1", "price": 1.0, "idvatgroup": 18}),
        "POST",
        "products",
        body={"name": "Vest", "productcode": "V1", "price": 1.0, "idvatgroup": 18},
        answer=PRODUCT,
        status=201,
        check=lambda r: r.idproduct == 633,
    ),
    "get_product_stock": Case(
        lambda c: c.get_product_stock(633),
        "GET",
        "products/633/stock",
        answer=[STOCK],
        check=lambda r: isinstance(r[0], ProductStock) and r[0].freestock == 10,
    ),
    "change_product_stock": Case(
        lambda c: c.change_product_stock(633, 1829, change=-2, reason="count"),
        "POST",
        "products/633/stock/1829",
        body={"change": -2, "reason": "count"},
        answer=STOCK,
        check=lambda r: r.stock == 12,
    ),
    "set_product_stock": Case(
        lambda c: c.change_product_stock(633, 1829, amount=12, reason="count"),
        "POST",
        "products/633/stock/1829",
        body={"amount": 12, "reason": "count"},
        answer=STOCK,
    ),
    "search_customers": Case(
        lambda c: c.search_customers("jan@example.com"),
        "GET",
        "customers",
        {"search": "jan@example.com"},
        answer=[{"idcustomer": 5633, "customerid": 1001, "name": "Jan"}],
        check=lambda r: isinstance(r[0], Customer) and r[0].customerid == "1001",
    ),
    "iter_warehouses": Case(
        lambda c: list(c.iter_warehouses()),
        "GET",
        "warehouses",
        {"offset": "0"},
        answer=[{"idwarehouse": 1829, "name": "Main", "accept_orders": True}],
        check=lambda r: r[0].accept_orders is True,
    ),
    "list_orderfields": Case(
        lambda c: c.list_orderfields(),
        "GET",
        "orderfields",
        {"offset": "0"},
        answer=[{"idorderfield": 35, "title": "Klantreferentie"}],
        check=lambda r: r[0].title == "Klantreferentie",
    ),
    "iter_picklists": Case(
        lambda c: list(c.iter_picklists(idorder=6754)),
        "GET",
        "picklists",
        {"idorder": "6754", "offset": "0"},
        answer=[PICKLIST],
        check=lambda r: isinstance(r[0], Picklist) and r[0].picklistid == "P2013-1832",
    ),
    "get_picklist": Case(
        lambda c: c.get_picklist(53398250),
        "GET",
        "picklists/53398250",
        answer=PICKLIST,
        check=lambda r: r.status == "new",
    ),
    "list_picklist_shipments": Case(
        lambda c: c.list_picklist_shipments(53398250),
        "GET",
        "picklists/53398250/shipments",
        answer=[SHIPMENT],
        check=lambda r: isinstance(r[0], Shipment) and r[0].trackingcode == "3SABC",
    ),
    "iter_hooks": Case(
        lambda c: list(c.iter_hooks()),
        "GET",
        "hooks",
        {"offset": "0"},
        answer=[HOOK],
        check=lambda r: r[0].active is True,
    ),
    "get_hook": Case(
        lambda c: c.get_hook(30088),
        "GET",
        "hooks/30088",
        answer={**HOOK, "secret": True},
        check=lambda r: isinstance(r, Hook) and r.has_secret,
    ),
    "create_hook": Case(
        lambda c: c.create_hook(
            name="sync", event="orders.status_changed", address="https://x/y", secret="s3"
        ),
        "POST",
        "hooks",
        body={"name": "sync", "event": "orders.status_changed", "address": "https://x/y", "secret": "s3"},
        answer={**HOOK, "secret": "s3"},
        status=201,
        check=lambda r: r.idhook == 30088 and r.secret == "s3",
    ),
    "delete_hook": Case(lambda c: c.delete_hook(30088), "DELETE", "hooks/30088", status=204),
    "reactivate_hook": Case(
        lambda c: c.reactivate_hook(30088),
        "POST",
        "hooks/30088/reactivate",
        answer=HOOK,
        check=lambda r: r.idhook == 30088,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_endpoint_request_and_answer(name: str, client: PicqerClient, picqer: FakePicqer) -> None:
    case = CASES[name]
    picqer.answer(case.status, case.answer)

    result = case.call(client)

    assert len(picqer.requests) == 1
    sent = picqer.last
    assert sent.method == case.method
    assert sent.url.path == "/api/v1/" + case.path
    assert dict(sent.url.params) == case.params
    assert picqer.body() == case.body
    if case.body is not None:
        assert sent.headers["Content-Type"] == "application/json"
    assert case.check(result), result


def test_every_public_method_has_a_case() -> None:
    public = {name for name in dir(PicqerClient) if not name.startswith("_")} - {"close", "rate_limit"}
    covered = {name for name in public if any(key == name or key.startswith(name + "_") for key in CASES)}
    # these are covered in test_pagination.py / below rather than by the table
    assert public - covered == {"iter_orders", "find_orders_by_reference"}


def test_auth_user_agent_and_accept_headers(picqer: FakePicqer) -> None:
    picqer.answer(200, ORDER)
    transport = httpx.MockTransport(picqer.handle)
    with PicqerClient(BASE_URL, API_KEY, user_agent="acme-sync (ops@acme.example)", transport=transport) as c:
        c.get_order(1)
    headers = picqer.last.headers
    scheme, _, token = headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token).decode() == f"{API_KEY}:"
    assert headers["User-Agent"] == "acme-sync (ops@acme.example)"
    assert headers["Accept"] == "application/json"


def test_default_user_agent_names_app_and_contact(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(200, ORDER)
    client.get_order(1)
    assert picqer.last.headers["User-Agent"] == DEFAULT_USER_AGENT
    assert "picqer-sync" in DEFAULT_USER_AGENT
    assert "@" in DEFAULT_USER_AGENT


def test_base_url_without_trailing_slash_keeps_api_prefix(picqer: FakePicqer) -> None:
    picqer.answer(200, ORDER)
    with PicqerClient(
        "https://example.picqer.com/api/v1", API_KEY, transport=httpx.MockTransport(picqer.handle)
    ) as c:
        c.get_order(5)
    assert str(picqer.last.url) == "https://example.picqer.com/api/v1/orders/5"


def test_timeout_is_applied(picqer: FakePicqer) -> None:
    picqer.answer(200, ORDER)
    with PicqerClient(BASE_URL, API_KEY, timeout=4.5, transport=httpx.MockTransport(picqer.handle)) as c:
        c.get_order(5)
    assert picqer.last.extensions["timeout"] == {"connect": 4.5, "read": 4.5, "write": 4.5, "pool": 4.5}


def test_change_product_stock_needs_exactly_one_of_change_and_amount(client: PicqerClient) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        client.change_product_stock(1, 2, reason="x")
    with pytest.raises(ValueError, match="exactly one"):
        client.change_product_stock(1, 2, change=1, amount=1, reason="x")


def test_unknown_order_filter_is_refused_before_any_request(client: PicqerClient, picqer: FakePicqer) -> None:
    with pytest.raises(TypeError, match="since_id"):
        client.iter_orders(since_id=5)
    with pytest.raises(TypeError, match="statuss"):
        client.list_orders(statuss="concept")
    assert picqer.requests == []


def test_all_documented_order_filters_are_sent(client: PicqerClient, picqer: FakePicqer) -> None:
    filters: dict[str, QueryValue] = {
        "search": "Jan",
        "sinceid": 201992,
        "beforeid": 366672,
        "sincedate": datetime(2022, 1, 1, 12, 0, 0),
        "untildate": "2022-01-01 22:00:00",
        "orderid": "O2015-29188",
        "status": "concept",
        "reference": "R1",
        "emailaddress": "jan@example.com",
        "idcustomer": 5633,
        "idwarehouse": 1829,
        "tag": "shop-a",
    }
    picqer.answer(200, [])
    assert list(client.iter_orders(**filters)) == []
    assert dict(picqer.last.url.params) == {
        "search": "Jan",
        "sinceid": "201992",
        "beforeid": "366672",
        "sincedate": "2022-01-01 12:00:00",
        "untildate": "2022-01-01 22:00:00",
        "orderid": "O2015-29188",
        "status": "concept",
        "reference": "R1",
        "emailaddress": "jan@example.com",
        "idcustomer": "5633",
        "idwarehouse": "1829",
        "tag": "shop-a",
        "offset": "0",
    }


def test_none_filters_are_left_out(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(200, [])
    client.list_orders(status=None, reference="R1")
    assert dict(picqer.last.url.params) == {"reference": "R1", "offset": "0"}


def test_find_orders_by_reference_keeps_exact_matches_only(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(
        200,
        [
            {"idorder": 1, "reference": "shop-1001"},
            {"idorder": 2, "reference": "shop-10010"},
            {"idorder": 3, "reference": None},
            {"idorder": 4, "reference": "shop-1001"},
        ],
    )
    found = client.find_orders_by_reference("shop-1001")
    assert [order.idorder for order in found] == [1, 4]
    assert dict(picqer.last.url.params) == {"reference": "shop-1001", "offset": "0"}


def test_add_order_tag_tolerates_an_answer_listing_all_tags(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(201, {"Winter": {"idtag": 11, "color": "#000"}, "Zomer": {"idtag": 223, "color": "#fff"}})
    tag = client.add_order_tag(5, 223)
    assert (tag.idtag, tag.title) == (223, "Zomer")
