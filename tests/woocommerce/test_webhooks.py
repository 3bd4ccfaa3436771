"""verify_webhook against real signatures (also the simulator's, over Woo's exact bytes)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.woocommerce.webhooks import order_version_key, sign, verify_webhook
from sandbox.woocommerce import WooCommerceSimulator
from tests.woocommerce.conftest import RECEIVER, SHOP, WEBHOOK_SECRET, Receiver, sample_orders, woo_settings
from worker.errors import WebhookRejected

ORDER = json.dumps(sample_orders()[0]).encode()


def headers_for(raw: bytes, secret: str = WEBHOOK_SECRET, topic: str = "order.updated") -> dict[str, str]:
    resource, _, event = topic.partition(".")
    return {
        "X-WC-Webhook-Source": "https://example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": sign(raw, secret),
        "X-WC-Webhook-ID": "3",
        "X-WC-Webhook-Delivery-ID": "a1b2c3",
    }


def test_signed_order_update_is_accepted_and_parsed() -> None:
    hook = verify_webhook(ORDER, headers_for(ORDER), woo_settings())
    assert (hook.topic, hook.shop_order_id, hook.is_ping, hook.deleted) == (
        "order.updated",
        "727",
        False,
        False,
    )
    assert hook.order is not None
    assert hook.order["number"] == "727"
    assert hook.event_key == "woocommerce:delivery:a1b2c3"


def test_previous_secret_is_accepted_while_rotating() -> None:
    settings = woo_settings(webhook_secret="new-secret", previous_webhook_secret=WEBHOOK_SECRET)
    assert verify_webhook(ORDER, headers_for(ORDER), settings).shop_order_id == "727"


def test_header_names_are_case_insensitive() -> None:
    lowered = {name.lower(): value for name, value in headers_for(ORDER).items()}
    assert verify_webhook(ORDER, lowered, woo_settings()).topic == "order.updated"


@given(
    position=st.integers(min_value=0, max_value=len(ORDER) - 1), flip=st.integers(min_value=1, max_value=255)
)
def test_any_changed_byte_is_rejected(position: int, flip: int) -> None:
    tampered = bytearray(ORDER)
    tampered[position] ^= flip
    with pytest.raises(WebhookRejected) as caught:
        verify_webhook(bytes(tampered), headers_for(ORDER), woo_settings())
    assert caught.value.status == 401


def test_wrong_secret_is_rejected() -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify_webhook(ORDER, headers_for(ORDER, secret="guess"), woo_settings())
    assert caught.value.status == 401


def test_missing_signature_is_rejected() -> None:
    headers = headers_for(ORDER)
    del headers["X-WC-Webhook-Signature"]
    with pytest.raises(WebhookRejected) as caught:
        verify_webhook(ORDER, headers, woo_settings())
    assert caught.value.status == 401


def test_no_configured_secret_rejects_everything_signed() -> None:
    with pytest.raises(WebhookRejected):
        verify_webhook(ORDER, headers_for(ORDER), woo_settings(webhook_secret=None))


def test_ping_is_accepted_without_signature() -> None:
    hook = verify_webhook(
        b"webhook_id=12", {"Content-Type": "application/x-www-form-urlencoded"}, woo_settings()
    )
    assert hook.is_ping
    assert hook.order is None
    assert hook.shop_order_id is None
    assert hook.event_key == "woocommerce:ping:12"


def test_unsigned_body_that_is_not_a_ping_is_rejected() -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify_webhook(b"webhook_id=12&x=1", {}, woo_settings())
    assert caught.value.status == 401


def test_deleted_body_is_only_the_id() -> None:
    raw = b'{"id":727}'
    hook = verify_webhook(raw, headers_for(raw, topic="order.deleted"), woo_settings())
    assert (hook.deleted, hook.shop_order_id, hook.order) == (True, "727", None)


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'{"no": "id"}', b"\xff\xfe"])
def test_bad_body_with_a_good_signature_is_400(raw: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify_webhook(raw, headers_for(raw), woo_settings())
    assert caught.value.status == 400


def test_order_version_key_changes_with_the_modification_time() -> None:
    order = sample_orders()[0]
    later = {**order, "date_modified_gmt": "2017-03-22T19:30:00"}
    assert order_version_key(order) == "woocommerce:order:727:2017-03-22T19:28:08"
    assert order_version_key(later) != order_version_key(order)
    raw = json.dumps(order).encode()
    headers = headers_for(raw)
    del headers["X-WC-Webhook-Delivery-ID"]
    assert verify_webhook(raw, headers, woo_settings()).event_key == order_version_key(order)


def test_simulator_deliveries_verify_with_the_adapter(sim: WooCommerceSimulator, receiver: Receiver) -> None:
    sim.register_delivery_address(SHOP, RECEIVER, secret=WEBHOOK_SECRET)
    order = sim.create_order(
        SHOP,
        line_items=[{"sku": "MUG-LOGO", "name": "Mok \u2013 logo / wit"}],
        billing={"first_name": "Jos\u00e9", "country": "BE"},
    )
    sim.trash(SHOP, order["id"])
    sim.restore(SHOP, order["id"])
    assert receiver.topics() == ["ping"] * 4 + ["order.created", "order.deleted", "order.restored"]
    parsed = [verify_webhook(body, headers, woo_settings()) for headers, body in receiver.received]
    assert all(hook.is_ping for hook in parsed[:4])
    created, deleted, restored = parsed[4:]
    # Woo's bytes escape "/" and non-ASCII; the check is on those bytes, not on re-encoded JSON
    assert b"\\/" in receiver.received[4][1]
    assert b"\\u00e9" in receiver.received[4][1]
    assert created.order is not None
    assert created.order["billing"]["first_name"] == "Jos\u00e9"
    assert (deleted.deleted, deleted.shop_order_id) == (True, str(order["id"]))
    assert restored.order is not None
    assert restored.order["status"] == "processing"
    assert len({hook.event_key for hook in parsed}) == len(parsed)
