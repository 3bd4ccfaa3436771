"""Picqer payloads built like the Orders doc examples and the hook examples: every doc example reads,
and a webhook whose order carries one odd field still gives the order (the field left out),
instead of losing the event to a validation error."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.picqer.models import PicqerEvent, PicqerOrder
from adapters.picqer.webhooks import parse_event, sign, verify_signature
from tests.picqer_client.conftest import doc_example
from worker.errors import WebhookRejected


def hook_order(**changes: Any) -> dict[str, Any]:
    """An order as the newest hook example sends it (``orderid`` with a prefix, tags as a list)."""
    order: dict[str, Any] = {
        "idorder": 98765,
        "idcustomer": None,
        "orderid": "O2026-1002",
        "deliveryname": "Jan Jansen",
        "deliverycontactname": None,
        "deliveryaddress": "Damrak 1",
        "deliveryzipcode": "1012 LG",
        "deliverycity": "Amsterdam",
        "deliveryregion": None,
        "deliverycountry": "NL",
        "invoicename": "Jan Jansen",
        "invoicecountry": "NL",
        "reference": "#2001",
        "emailaddress": "jan@example.nl",
        "telephone": None,
        "status": "processing",
        "public_status_page": "https://example.picqer.com/s/abc",
        "created": "2026-01-13 09:40:00",
        "updated": "2026-01-13 09:46:30",
        "products": [
            {"idorder_product": 1, "idproduct": 633, "productcode": "RADIO-RED", "name": "Radio", "amount": 1}
        ],
        "orderfields": [],
        "tags": [
            {"idtag": 5, "title": "shop-nl", "color": "#5993be", "inherit": False, "textColor": "#000000"}
        ],
    }
    order.update(changes)
    return order


def envelope(data: dict[str, Any], event: str = "orders.status_changed") -> bytes:
    return json.dumps(
        {
            "idhook": 30088,
            "name": "picqer-sync",
            "event": event,
            "event_triggered_at": "2026-01-13 09:46:30",
            "data": data,
        }
    ).encode()


@pytest.mark.parametrize(
    "name",
    ["list_orders", "get_order", "create_order", "update_order", "process_order", "anonymize_order"],
)
def test_every_orders_doc_example_reads(name: str) -> None:
    response = doc_example(name)["response"]
    rows = response if isinstance(response, list) else [response]
    for row in rows:
        order = PicqerOrder.model_validate(row)
        assert order.idorder > 0


def test_signed_order_hook_verifies_and_gives_the_order() -> None:
    raw = envelope(hook_order())
    assert verify_signature(raw, sign(raw, "hook-secret"), "hook-secret")
    event = parse_event(raw)
    order = event.order()
    assert order is not None
    assert (order.idorder, order.orderid, order.reference, order.status) == (
        98765,
        "O2026-1002",
        "#2001",
        "processing",
    )
    assert order.tag_titles == {"shop-nl"}
    assert event.resource_id == "98765"


def test_older_hook_shape_with_tags_keyed_by_title_and_numbers_for_text() -> None:
    data = hook_order(
        tags={"shop-nl": {"idtag": 5, "color": "#5993be", "inherit": False}},
        orderid=20130012,
        deliveryzipcode=1012,
        telephone=201234567,
        deliveryname=12345,  # a company called by its number
    )
    order = parse_event(envelope(data)).order()
    assert order is not None
    assert order.tag_titles == {"shop-nl"}
    assert (order.orderid, order.deliveryzipcode, order.telephone, order.deliveryname) == (
        "20130012",
        "1012",
        "201234567",
        "12345",
    )


def test_one_unreadable_optional_field_is_left_out_not_the_whole_event() -> None:
    data = hook_order(deliverycountry={"code": "NL"}, products=[{"idproduct": {"odd": 1}}])
    order = parse_event(envelope(data)).order()
    assert order is not None
    assert (order.idorder, order.status) == (98765, "processing")
    assert order.deliverycountry is None
    assert order.products == []


def test_an_unreadable_idorder_means_no_order() -> None:
    event = parse_event(envelope(hook_order(idorder={"id": 1})))
    assert event.order() is None


def test_order_wrapped_in_an_order_key_is_read_too() -> None:
    order = parse_event(envelope({"order": hook_order()}, event="orders.completed")).order()
    assert order is not None
    assert order.idorder == 98765


def test_shipment_hook_with_an_odd_field_keeps_the_shipment() -> None:
    data = {
        "idshipment": 501,
        "idpicklist": 301,
        "idorder": 98765,
        "providername": "PostNL",
        "trackingcode": 3123456789,
        "trackingurl": "https://postnl.nl/tracktrace/?B=3S",
        "weight": {"kg": 1},
        "created": "2026-01-13 10:00:00",
    }
    shipment = parse_event(envelope(data, event="picklists.shipments.created")).shipment()
    assert shipment is not None
    assert (shipment.idshipment, shipment.idorder, shipment.trackingcode) == (501, 98765, "3123456789")
    assert shipment.weight is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'{"idhook": 1}',
        b"not json",
        envelope(hook_order()).replace(b"2026-01-13 09:46:30", b"yesterday", 1),
    ],
)
def test_malformed_hook_bodies_are_rejected_with_400(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse_event(body)
    assert caught.value.status == 400


# -- never crashes ------------------------------------------------------------------------------------

ODD_VALUES: list[Any] = [None, "", "0", 0, 7, 1.5, True, [], {}, "abc"]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), steps=st.integers(1, 4))
def test_mutated_order_hooks_give_an_order_none_or_a_400_never_a_crash(seed: int, steps: int) -> None:
    rnd = random.Random(seed)
    data = copy.deepcopy(hook_order())
    for _ in range(steps):
        path = rnd.choice(_paths(data))
        parent: Any = data
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = copy.deepcopy(rnd.choice(ODD_VALUES))
    try:
        event = parse_event(envelope(data))
    except WebhookRejected:
        return
    assert isinstance(event, PicqerEvent)
    order = event.order()
    assert order is None or isinstance(order, PicqerOrder)
