"""Picqer webhook signatures and the event envelope."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime

import pytest

from adapters.picqer.models import PicqerOrder, Shipment
from adapters.picqer.webhooks import SIGNATURE_HEADER, parse_event, sign, verify_signature
from tests.picqer_client.conftest import doc_example
from worker.errors import WebhookRejected

SECRET = "hook-secret"


def envelope(event: str = "orders.status_changed", data: dict[str, object] | None = None) -> bytes:
    order = {"idorder": 16860, "orderid": "O2026-1002", "status": "processing", "reference": "shop-1001"}
    body = {
        "idhook": 30088,
        "name": "picqer-sync orders.status_changed",
        "event": event,
        "event_triggered_at": "2026-01-13 09:46:30",
        "data": order if data is None else data,
    }
    return json.dumps(body).encode()


def test_sign_is_base64_hmac_sha256_of_the_raw_body() -> None:
    raw = envelope()
    expected = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
    assert sign(raw, SECRET) == expected
    assert SIGNATURE_HEADER == "X-Picqer-Signature"


def test_verify_accepts_the_right_signature() -> None:
    raw = envelope()
    assert verify_signature(raw, sign(raw, SECRET), SECRET) is True


def test_verify_rejects_one_changed_byte() -> None:
    raw = envelope()
    header = sign(raw, SECRET)
    tampered = raw.replace(b"processing", b"processinG")
    assert tampered != raw
    assert verify_signature(tampered, header, SECRET) is False


def test_verify_rejects_a_wrong_secret() -> None:
    raw = envelope()
    assert verify_signature(raw, sign(raw, "other-secret"), SECRET) is False


@pytest.mark.parametrize("header", [None, "", "not-base64-at-all", "é"])
def test_verify_rejects_missing_or_garbage_header(header: str | None) -> None:
    assert verify_signature(envelope(), header, SECRET) is False


def test_verify_rejects_when_no_secret_is_configured() -> None:
    raw = envelope()
    assert verify_signature(raw, sign(raw, ""), "") is False


def test_verify_is_over_bytes_not_reserialised_json() -> None:
    raw = envelope()
    reformatted = json.dumps(json.loads(raw), indent=2).encode()
    assert verify_signature(reformatted, sign(raw, SECRET), SECRET) is False


def test_parse_order_event() -> None:
    event = parse_event(envelope())
    assert event.idhook == 30088
    assert event.event == "orders.status_changed"
    assert event.event_triggered_at == datetime(2026, 1, 13, 9, 46, 30)
    order = event.order()
    assert isinstance(order, PicqerOrder)
    assert (order.idorder, order.orderid, order.status) == (16860, "O2026-1002", "processing")
    assert event.shipment() is None


def test_parse_full_order_payload_from_the_doc() -> None:
    data = doc_example("get_order")["response"]
    order = parse_event(envelope("orders.completed", data)).order()
    assert order is not None
    assert [tag.title for tag in order.tags] == ["TopWebshop", "SummerProducts"]


def test_parse_shipment_event() -> None:
    shipment = {
        "idshipment": 501,
        "idpicklist": 7,
        "idorder": 16860,
        "trackingcode": "3S",
        "provider": "postnl",
    }
    event = parse_event(envelope("picklists.shipments.created", shipment))
    parsed = event.shipment()
    assert isinstance(parsed, Shipment)
    assert parsed.trackingcode == "3S"
    assert event.order() is None  # a shipment carries idorder but is not an order
    assert event.resource_id == "501"


def test_picklist_event_is_neither_order_nor_shipment() -> None:
    event = parse_event(envelope("picklists.closed", {"idpicklist": 7, "idorder": 16860}))
    assert event.order() is None
    assert event.shipment() is None
    assert event.resource_id == "7"


def test_event_key_is_stable_for_a_redelivery_and_differs_for_another_body() -> None:
    raw = envelope()
    first, again = parse_event(raw), parse_event(raw)
    assert first.event_key == again.event_key
    assert first.event_key.startswith("orders.status_changed:16860:2026-01-13 09:46:30:")
    assert first.event_key.endswith(hashlib.sha256(raw).hexdigest())
    other = parse_event(envelope(data={"idorder": 16860, "status": "completed"}))
    assert other.event_key != first.event_key


def test_event_key_without_a_body_hash_is_still_deterministic() -> None:
    event = parse_event(envelope())
    rebuilt = event.model_copy(update={"body_sha256": ""})
    assert rebuilt.event_key == event.model_copy(update={"body_sha256": ""}).event_key
    assert rebuilt.event_key.startswith("orders.status_changed:16860:")


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"idhook": 1, "name": "x", "event": "orders.created", "data": {}}',
        b'{"idhook": 1, "name": "x", "event_triggered_at": "2026-01-13 09:46:30", "data": {}}',
        b'{"idhook": 1, "name": "x", "event": "orders.created", "event_triggered_at": "later", "data": {}}',
        b'{"idhook": 1, "name": "x", "event": "orders.created", "event_triggered_at": "2026-01-13 09:46:30",'
        b' "data": []}',
    ],
    ids=["text", "binary", "array", "no-time", "no-event", "bad-time", "data-not-object"],
)
def test_bad_bodies_are_rejected_with_400(raw: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse_event(raw)
    assert caught.value.status == 400
