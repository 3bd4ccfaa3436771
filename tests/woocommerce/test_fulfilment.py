"""Fulfilment push-back: a customer note with the tracking, status completed, never twice."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.platform import Tracking
from adapters.woocommerce.fulfilment import report_fulfilment
from adapters.woocommerce.source import WooCommerceSource
from sandbox.woocommerce import WooCommerceSimulator
from sandbox.woocommerce.gate import FailNext
from tests.woocommerce.conftest import SHOP, AppTransport
from worker.errors import OutcomeUnknown

TRACKING = [
    Tracking(trackingcode="3SABCD1234567", trackingurl="https://postnl.nl/t/3SABCD1234567", carrier="PostNL")
]


def customer_notes(sim: WooCommerceSimulator, order_id: int) -> list[str]:
    return [note["note"] for note in sim.notes(SHOP, order_id) if note["customer_note"]]


def test_completes_with_a_tracking_note(
    sim: WooCommerceSimulator, make_source: Callable[..., WooCommerceSource]
) -> None:
    order = sim.create_order(SHOP, line_items=[{"sku": "MUG-LOGO"}])
    report_fulfilment(make_source(), shop_order_id=str(order["id"]), tracking=TRACKING)
    assert sim.get_order(SHOP, order["id"])["status"] == "completed"
    (note,) = customer_notes(sim, order["id"])
    assert "3SABCD1234567" in note
    assert "PostNL" in note
    assert "https://postnl.nl/t/3SABCD1234567" in note
    assert sim.fulfilments(SHOP)[0]["order_id"] == order["id"]


def test_reporting_twice_adds_no_second_note_and_no_second_status_change(
    sim: WooCommerceSimulator, make_source: Callable[..., WooCommerceSource], transport: AppTransport
) -> None:
    order = sim.create_order(SHOP, line_items=[{"sku": "MUG-LOGO"}])
    source = make_source()
    report_fulfilment(source, shop_order_id=str(order["id"]), tracking=TRACKING)
    modified = sim.get_order(SHOP, order["id"])["date_modified_gmt"]
    sent = len(transport.requests)
    report_fulfilment(source, shop_order_id=str(order["id"]), tracking=TRACKING)
    assert len(customer_notes(sim, order["id"])) == 1
    assert [request.method for request in transport.requests[sent:]] == ["GET", "GET"]
    assert sim.get_order(SHOP, order["id"])["date_modified_gmt"] == modified


def test_a_second_shipment_adds_only_its_own_code(
    sim: WooCommerceSimulator, make_source: Callable[..., WooCommerceSource]
) -> None:
    order = sim.create_order(SHOP, line_items=[{"sku": "MUG-LOGO"}])
    source = make_source()
    report_fulfilment(source, shop_order_id=str(order["id"]), tracking=TRACKING)
    both = [*TRACKING, Tracking(trackingcode="JVGL0987654321")]
    report_fulfilment(source, shop_order_id=str(order["id"]), tracking=both)
    notes = customer_notes(sim, order["id"])
    assert len(notes) == 2
    assert "JVGL0987654321" in notes[0]
    assert "3SABCD1234567" not in notes[0]


def test_a_failed_note_post_is_not_retried_blindly_and_the_retry_adds_it_once(
    sim: WooCommerceSimulator, make_source: Callable[..., WooCommerceSource], sleeps: list[float]
) -> None:
    order = sim.create_order(SHOP, line_items=[{"sku": "MUG-LOGO"}])
    source = make_source()
    sim.faults.fail_next = [FailNext(503, method="POST", path_suffix="/notes")]
    with pytest.raises(OutcomeUnknown):
        report_fulfilment(source, shop_order_id=str(order["id"]), tracking=TRACKING)
    assert sleeps == []  # not retried inside the client: a repeat could add the note twice
    assert sim.get_order(SHOP, order["id"])["status"] == "processing"
    report_fulfilment(source, shop_order_id=str(order["id"]), tracking=TRACKING)
    assert len(customer_notes(sim, order["id"])) == 1
    assert sim.get_order(SHOP, order["id"])["status"] == "completed"


def test_cancelled_orders_are_left_alone(
    sim: WooCommerceSimulator, make_source: Callable[..., WooCommerceSource]
) -> None:
    order = sim.create_order(SHOP, line_items=[{"sku": "MUG-LOGO"}])
    sim.cancel(SHOP, order["id"])
    report_fulfilment(make_source(), shop_order_id=str(order["id"]), tracking=TRACKING)
    assert sim.get_order(SHOP, order["id"])["status"] == "cancelled"
    assert customer_notes(sim, order["id"]) == []
