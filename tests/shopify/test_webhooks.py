"""verify_webhook: Shopify's signature over the exact bytes, both header forms, secret rotation."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from adapters.shopify.webhooks import sign, verify_webhook
from sandbox.shopify.templates import template
from tests.shopify.conftest import HOOK_ADDRESS, SHOP, Sandbox
from worker.config import SourceSettings
from worker.errors import WebhookRejected

SECRET = "new-secret"
OLD_SECRET = "old-secret"
SETTINGS = SourceSettings(
    name="shop-nl",
    platform="shopify",
    url="https://s.myshopify.com",
    webhook_secret=SECRET,
    previous_webhook_secret=OLD_SECRET,
)
# as Shopify sends it: compact JSON with a non-ASCII character, signed over these exact bytes
BODY = (
    '{"id":450789469,"name":"#1001","updated_at":"2008-01-10T11:00:00-05:00","note":"Gr\u00fc\u00dfe"}'
).encode()


def headers(body: bytes = BODY, secret: str = SECRET, *, prefix: str = "X-Shopify-") -> dict[str, str]:
    return {
        f"{prefix}Topic": "orders/paid",
        f"{prefix}Hmac-Sha256": sign(body, secret),
        f"{prefix}Shop-Domain": "s.myshopify.com",
        f"{prefix}Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        f"{prefix}Event-Id": "7f1c5e6a-1111-4b37-8a5f-bf7d70bcd043",
    }


def test_accepts_the_real_signature() -> None:
    hook = verify_webhook(BODY, headers(), SETTINGS)
    assert hook.topic == "orders/paid"
    assert hook.shop_order_id == "450789469"
    assert hook.order is not None
    assert hook.order["note"] == "Grüße"
    assert hook.event_key == "webhook-id:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"


def test_accepts_unprefixed_lowercase_headers() -> None:
    lowered = {name.lower(): value for name, value in headers(prefix="shopify-").items()}
    assert verify_webhook(BODY, lowered, SETTINGS).shop_order_id == "450789469"


def test_accepts_the_previous_secret_during_rotation() -> None:
    assert verify_webhook(BODY, headers(secret=OLD_SECRET), SETTINGS).topic == "orders/paid"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h: (BODY.replace(b"#1001", b"#1002"), h),  # one changed byte
        lambda h: (BODY + b" ", h),  # re-serialised bodies do not verify
        lambda h: (BODY, {**h, "X-Shopify-Hmac-Sha256": sign(BODY, "wrong")}),
        lambda h: (BODY, {k: v for k, v in h.items() if k != "X-Shopify-Hmac-Sha256"}),
        lambda h: (BODY, {**h, "X-Shopify-Hmac-Sha256": "not base64!"}),
    ],
    ids=["changed-byte", "trailing-space", "wrong-secret", "missing-header", "garbage-header"],
)
def test_rejects_with_401(tamper: object) -> None:
    body, changed = tamper(headers())  # type: ignore[operator]
    with pytest.raises(WebhookRejected) as caught:
        verify_webhook(body, changed, SETTINGS)
    assert caught.value.status == 401


def test_rejects_when_no_secret_is_configured() -> None:
    bare = SETTINGS.model_copy(update={"webhook_secret": None, "previous_webhook_secret": SecretStr("")})
    with pytest.raises(WebhookRejected) as caught:
        verify_webhook(BODY, headers(), bare)
    assert caught.value.status == 401


def test_signed_garbage_is_a_400() -> None:
    for body in (b"not json", b"[1, 2]", b'{"name": "#1001"}'):
        with pytest.raises(WebhookRejected) as caught:
            verify_webhook(body, headers(body), SETTINGS)
        assert caught.value.status == 400


def test_event_key_falls_back_to_event_id_then_order_version() -> None:
    only_event = {k: v for k, v in headers().items() if k != "X-Shopify-Webhook-Id"}
    assert verify_webhook(BODY, only_event, SETTINGS).event_key.startswith("event-id:7f1c5e6a")
    bare = {k: v for k, v in only_event.items() if k != "X-Shopify-Event-Id"}
    assert verify_webhook(BODY, bare, SETTINGS).event_key == "orders/paid:450789469:2008-01-10T11:00:00-05:00"


def test_other_topics_are_accepted_without_an_order() -> None:
    body = json.dumps({"id": 1, "title": "a product"}).encode()
    hook = verify_webhook(body, {**headers(body), "X-Shopify-Topic": "products/update"}, SETTINGS)
    assert (hook.topic, hook.order, hook.shop_order_id) == ("products/update", None, None)
    deleted = verify_webhook(
        b'{"id": 9}', {**headers(b'{"id": 9}'), "X-Shopify-Topic": "orders/delete"}, SETTINGS
    )
    assert (deleted.deleted, deleted.order, deleted.shop_order_id) == (True, None, "9")


def test_simulator_deliveries_verify_and_carry_every_header(sandbox: Sandbox) -> None:
    sandbox.client.post(f"/_sandbox/shopify/shops/{SHOP}/webhook-addresses", json={"address": HOOK_ADDRESS})
    order = sandbox.sim.create_order(SHOP, template("ipod"), financial_status="authorized")
    sandbox.sim.pay(SHOP, order["id"])
    sandbox.sim.cancel(SHOP, order["id"])
    assert sandbox.received.topics() == [
        "orders/create",
        "orders/paid",
        "orders/updated",
        "orders/cancelled",
        "orders/updated",
    ]
    settings = sandbox.settings()
    keys = set()
    for request in sandbox.received.requests:
        for name in ("Shop-Domain", "API-Version", "Webhook-Id", "Event-Id", "Triggered-At"):
            assert request.headers[f"X-Shopify-{name}"]
        hook = verify_webhook(request.content, dict(request.headers), settings)
        assert hook.shop_order_id == str(order["id"])
        keys.add(hook.event_key)
    assert len(keys) == 5  # each delivery its own webhook id
    final = verify_webhook(
        sandbox.received.requests[-1].content, dict(sandbox.received.requests[-1].headers), settings
    )
    assert final.order is not None
    assert final.order["cancelled_at"]
    assert final.order["financial_status"] == "refunded"
