"""The receiver's hot path gives the same answers as the plain path it replaced.

* ``load_json_body`` parses with orjson first, the standard parser for what orjson refuses or could
  read differently: the result must be exactly ``json.loads``'s (types included: an integer read as a
  float is a different order id), and every body the old parser refused is still a 400.
* ``shop_event_payload`` splices the order's text as received instead of encoding the parsed order
  again: the worker must read the same ``ShopEvent`` from it.
* ``redact`` judges each key once per process (a cache): still every casing of a secret or personal key.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from adapters import jsonbody
from adapters.errors import WebhookRejected
from adapters.jsonbody import MAX_JSON_DEPTH, load_json_body
from adapters.platform import ShopWebhook
from adapters.shopify import webhooks as shopify
from adapters.woocommerce import webhooks as woocommerce
from tests.conftest import samples_dir
from worker.config import SourceSettings
from worker.logging import PERSONAL_KEYS, REDACTED, SECRET_KEY_PARTS, redact
from worker.sync.inbox import parse_shop_event_payload, shop_event_payload

SHARED_SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
SECRET = "hot-path-secret"
SHOPIFY = SourceSettings(
    name="shop-nl", platform="shopify", url="https://s.myshopify.com", webhook_secret=SECRET
)
WOO = SourceSettings(
    name="woo",
    platform="woocommerce",
    url="https://woo.test",
    consumer_key="ck",
    consumer_secret="cs",
    webhook_secret=SECRET,
)


def identical(left: Any, right: Any) -> bool:
    """Equal, with the same types and key order all the way down (``1 == 1.0`` is not enough)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(identical(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(identical(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


@pytest.fixture
def orjson_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies that went to orjson (so a test knows the fast path was taken, not skipped)."""
    calls: list[bytes] = []

    def loads(raw: bytes) -> Any:
        calls.append(raw)
        return orjson.loads(raw)

    monkeypatch.setattr(
        jsonbody, "orjson", SimpleNamespace(loads=loads, JSONDecodeError=orjson.JSONDecodeError)
    )
    return calls


# -- load_json_body: json.loads's answer ----------------------------------------------------------


def sample_files() -> list[Path]:
    found = sorted(samples_dir().glob("**/*.json"))
    if SHARED_SAMPLES.is_dir():
        found += sorted(SHARED_SAMPLES.glob("**/*.json"))
    return found


def body_forms(value: Any) -> Iterator[bytes]:
    """The ways a platform may write one JSON value: compact, pretty, ASCII with \\u escapes and
    escaped slashes (WooCommerce's PHP), UTF-8 as is (Shopify)."""
    yield json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    yield json.dumps(value, indent=2, ensure_ascii=False).encode()
    yield json.dumps(value).replace("/", "\\/").encode()
    yield b"\r\n  " + json.dumps(value, indent="\t").encode() + b"\n"


def sample_bodies() -> Iterator[tuple[str, bytes]]:
    for path in sample_files():
        raw = path.read_bytes()
        yield path.name, raw
        parsed = json.loads(raw)
        parts = (
            parsed if isinstance(parsed, list) else list(parsed.values()) if isinstance(parsed, dict) else []
        )
        for index, value in enumerate([parsed, *parts]):
            for form, body in enumerate(body_forms(value)):
                yield f"{path.name}[{index}]#{form}", body


def test_there_are_samples_to_walk() -> None:
    names = {path.name for path in sample_files()}
    assert {"shopify-order-1.json", "woocommerce-orders-list-1.json", "magento-order-1.json"} <= names


@pytest.mark.parametrize(
    ("name", "raw"), list(sample_bodies()), ids=lambda value: value if isinstance(value, str) else ""
)
def test_every_sample_parses_exactly_as_the_standard_parser(
    name: str, raw: bytes, orjson_calls: list[bytes]
) -> None:
    assert identical(load_json_body(raw), json.loads(raw.decode("utf-8")))
    assert orjson_calls == [raw]  # the fast path answered (no 20-digit run in a vendor sample)


EDGE_VALUES = [
    b'{"a":1,"b":2,"a":3}',  # a repeated key: the last value, at the first key's place
    b'{"price":"1.10","total":1.10,"qty":3,"rate":0.1,"tiny":5e-324,"big":1.7976931348623157e308}',
    b'{"zero":-0,"negative_zero":-0.0,"exp":1E5,"neg_exp":-2.5e-3,"under":1e-400}',
    b'{"max_i64":9223372036854775807,"min_i64":-9223372036854775808,"max_u64_19":9999999999999999999}',
    b'{"emoji":"\\ud83d\\ude00","raw":"\xf0\x9f\x98\x80","ls":"\xe2\x80\xa8","del":"\x7f","esc":"\\"\\\\\\/\\b\\f\\n\\r\\t"}',
    b'{"nested":[[[{"a":[1,{"b":null}]}]]],"t":true,"f":false,"n":null,"empty":{},"list":[]}',
    b'"just a string"',
    b"42",
    b'  [1, 2.0, "3"]\r\n',
    b'{"overflow":1e400}',  # orjson refuses it; the standard parser's infinity, as before
]


@pytest.mark.parametrize("raw", EDGE_VALUES)
def test_edge_values_parse_exactly_as_the_standard_parser(raw: bytes) -> None:
    assert identical(load_json_body(raw), json.loads(raw.decode("utf-8")))


@pytest.mark.parametrize(
    "number",
    [
        "12345678901234567890",  # 20 digits
        "18446744073709551616",  # 2**64: past orjson's unsigned 64 bits
        "-12345678901234567890",
        "123456789012345678901234567890",
    ],
)
def test_integers_of_twenty_digits_or_more_stay_exact(number: str) -> None:
    raw = f'{{"id":{number},"line_items":[{{"id":{number}}}]}}'.encode()
    body = load_json_body(raw)
    assert body == {"id": int(number), "line_items": [{"id": int(number)}]}
    assert type(body["id"]) is int


@pytest.mark.parametrize(
    "number",
    [
        "-9223372036854775809",  # one below int64: 19 digits, which orjson reads as a float
        "-9999999999999999999",
    ],
)
def test_negative_nineteen_digit_integers_below_int64_stay_exact(number: str) -> None:
    """A negative integer of 19 digits can be below int64's range (-9223372036854775808) while the
    20-digit check lets it through to orjson, which reads it as a float (-1e19): the standard
    parser keeps it exact. Fix: send 19-digit runs to the standard parser (``b"0" * 19``)."""
    raw = f'{{"id":{number}}}'.encode()
    body = load_json_body(raw)
    assert type(body["id"]) is int
    assert body["id"] == int(number)


def test_digits_inside_a_string_take_the_standard_parser_and_change_nothing(
    orjson_calls: list[bytes],
) -> None:
    raw = b'{"card":"4111111111111111111111","id":5}'
    assert identical(load_json_body(raw), {"card": "4111111111111111111111", "id": 5})
    assert orjson_calls == []


# -- load_json_body: what cannot be stored as sent is a 400 ---------------------------------------


REFUSED = {
    "NaN": b'{"total": NaN}',
    "Infinity": b'{"total": Infinity}',
    "-Infinity": b'{"total": -Infinity}',
    "lone high surrogate": b'{"note": "\\ud800"}',
    "lone low surrogate": b'{"note": "\\udc00"}',
    "high surrogate then a letter": b'{"note": "\\ud800x"}',
    "lone surrogate in a key": b'{"\\ud83d": 1}',
    "NUL escaped": b'{"note": "a\\u0000b"}',
    "NUL in a key": b'{"\\u0000": 1}',
    "raw control character": b'{"note": "a\x01b"}',
    "UTF-8 byte-order mark": b'\xef\xbb\xbf{"id": 1}',
    "UTF-16 LE byte-order mark": b"\xff\xfe{\x00}\x00",
    "UTF-16 BE byte-order mark": b"\xfe\xff\x00{\x00}",
    "not UTF-8": b'{"note": "\xff"}',
    "Latin-1": '{"note": "Grüße"}'.encode("latin-1"),
    "encoded surrogate (CESU)": b'{"note": "\xed\xa0\x80"}',
    "too deep": b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1),
    "too deep in objects": b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1),
    "trailing data": b'{"id": 1} {"id": 2}',
    "empty": b"",
    "trailing comma": b'{"id": 1,}',
    "single quotes": b"{'id': 1}",
}


@pytest.mark.parametrize("raw", list(REFUSED.values()), ids=list(REFUSED))
def test_a_body_that_cannot_be_stored_as_sent_is_a_400(raw: bytes) -> None:
    with pytest.raises(WebhookRejected) as refused:
        load_json_body(raw)
    assert refused.value.status == 400


def test_exactly_the_depth_limit_is_accepted() -> None:
    raw = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert load_json_body(raw) == json.loads(raw)


def test_a_valid_surrogate_pair_is_accepted() -> None:
    assert load_json_body(b'{"note": "\\ud83d\\ude00 \\uD83D\\uDE00"}') == {"note": "\U0001f600 \U0001f600"}


# -- shop_event_payload: the spliced text is the same event ---------------------------------------


def shopify_headers(raw: bytes, topic: str) -> dict[str, str]:
    return {
        "x-shopify-topic": topic,
        "x-shopify-hmac-sha256": shopify.sign(raw, SECRET),
        "x-shopify-webhook-id": "w-1",
    }


def woo_headers(raw: bytes, topic: str) -> dict[str, str]:
    return {
        "x-wc-webhook-topic": topic,
        "x-wc-webhook-signature": woocommerce.sign(raw, SECRET),
        "x-wc-webhook-delivery-id": "d-1",
    }


def shopify_order() -> dict[str, Any]:
    order: dict[str, Any] = json.loads((samples_dir() / "shopify-order-1.json").read_bytes())["order"]
    return order


def woo_orders() -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = json.loads((samples_dir() / "woocommerce-orders-list-1.json").read_bytes())
    return orders


def with_odd_text(order: dict[str, Any]) -> dict[str, Any]:
    """The order with the text a shop's customers write: accents, emoji, quotes, a backslash, a
    line separator, a newline, and a 25-digit integer."""
    return {
        **order,
        "note": 'Grüße "aan" \\ de 😀 deur\u2028\nregel twee',
        "note_id": 1234567890123456789012345,
    }


def order_bodies(order: dict[str, Any]) -> list[bytes]:
    return [*body_forms(order), *body_forms(with_odd_text(order))]


def same_event(webhook: ShopWebhook) -> None:
    """The spliced payload is valid JSON that parses to the event the fully encoded one gives."""
    spliced = shop_event_payload(webhook)
    encoded = shop_event_payload(dataclasses.replace(webhook, order_json=None))
    assert webhook.order_json is not None
    assert spliced.endswith(f',"order":{webhook.order_json}}}')  # the text as received
    event, expected = parse_shop_event_payload(spliced), parse_shop_event_payload(encoded)
    assert event == expected
    assert identical(event.order, expected.order)
    assert identical(json.loads(spliced), json.loads(encoded))


@pytest.mark.parametrize("raw", order_bodies(shopify_order()))
def test_a_shopify_order_webhook_keeps_its_text_and_gives_the_same_event(raw: bytes) -> None:
    webhook = shopify.verify_webhook(raw, shopify_headers(raw, "orders/updated"), SHOPIFY)
    assert webhook.order_json == raw.decode("utf-8")
    same_event(webhook)
    event = parse_shop_event_payload(shop_event_payload(webhook))
    assert (event.topic, event.shop_order_id, event.deleted) == ("orders/updated", "450789469", False)


@pytest.mark.parametrize(
    ("index", "raw"), [(i, raw) for i, order in enumerate(woo_orders()) for raw in order_bodies(order)]
)
def test_a_woocommerce_order_webhook_keeps_its_text_and_gives_the_same_event(index: int, raw: bytes) -> None:
    webhook = woocommerce.verify_webhook(raw, woo_headers(raw, "order.updated"), WOO)
    assert webhook.order_json == raw.decode("utf-8")
    same_event(webhook)
    event = parse_shop_event_payload(shop_event_payload(webhook))
    assert event.shop_order_id == str(woo_orders()[index]["id"])
    assert not event.deleted


def test_a_woocommerce_order_with_a_numeric_string_id_gives_the_same_event() -> None:
    raw = json.dumps({**woo_orders()[0], "id": " 727 "}).encode()
    webhook = woocommerce.verify_webhook(raw, woo_headers(raw, "order.created"), WOO)
    same_event(webhook)
    assert parse_shop_event_payload(shop_event_payload(webhook)).shop_order_id == "727"


def test_a_shopify_delete_or_other_topic_keeps_no_text() -> None:
    deleted = b'{"id": 450789469}'
    webhook = shopify.verify_webhook(deleted, shopify_headers(deleted, "orders/delete"), SHOPIFY)
    assert (webhook.order, webhook.order_json, webhook.deleted) == (None, None, True)
    event = parse_shop_event_payload(shop_event_payload(webhook))
    assert (event.topic, event.shop_order_id, event.deleted, event.order) == (
        "orders/delete",
        "450789469",
        True,
        None,
    )
    other = b'{"id": 1, "name": "a product"}'
    webhook = shopify.verify_webhook(other, shopify_headers(other, "products/update"), SHOPIFY)
    assert (webhook.order, webhook.order_json) == (None, None)


def test_a_woocommerce_delete_ping_or_other_resource_keeps_no_text() -> None:
    deleted = b'{"id": 727}'
    webhook = woocommerce.verify_webhook(deleted, woo_headers(deleted, "order.deleted"), WOO)
    assert (webhook.order, webhook.order_json, webhook.deleted) == (None, None, True)
    assert parse_shop_event_payload(shop_event_payload(webhook)).shop_order_id == "727"
    ping = woocommerce.verify_webhook(b"webhook_id=3", {}, WOO)
    assert ping.is_ping
    assert ping.order_json is None
    product = b'{"id": 99, "name": "a product"}'
    webhook = woocommerce.verify_webhook(product, woo_headers(product, "product.updated"), WOO)
    assert (webhook.order, webhook.order_json) == (None, None)


def test_a_webhook_built_without_text_is_encoded_as_before() -> None:
    order = with_odd_text(shopify_order())
    webhook = ShopWebhook(topic="orders/paid", event_key="k", shop_order_id="450789469", order=order)
    payload = shop_event_payload(webhook)
    assert json.loads(payload) == {
        "topic": "orders/paid",
        "shop_order_id": "450789469",
        "deleted": False,
        "order": order,
    }
    assert parse_shop_event_payload(payload).order == order


# -- redact: every casing of a redacted key, each time --------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "API_KEY",
        "Api_Key",
        "picqer_api_key",
        "ApiKey",
        "X-Shopify-Hmac-Signature",
        "webhook_SECRET",
        "Access_Token",
        "PASSWORD",
        "Authorization",
        "EMAIL",
        "Email",
        "Phone",
        "TELEPHONE",
        "Address1",
        "DeliveryAddress",
        "Full_Invoice_Address",
        "street",
    ],
)
def test_a_secret_or_personal_key_is_redacted_in_any_case(key: str) -> None:
    for _ in range(2):  # the second time from the per-process cache
        assert redact(None, "info", {"event": "x", key: "value"}) == {"event": "x", key: REDACTED}
    lowered = key.lower()
    assert lowered in PERSONAL_KEYS or any(part in lowered for part in SECRET_KEY_PARTS)


@pytest.mark.parametrize(
    "key", ["event", "order_id", "topic", "inbox_id", "Source", "status", "email_count", "phone_country"]
)
def test_other_keys_are_left(key: str) -> None:
    for _ in range(2):
        assert redact(None, "info", {key: "value"}) == {key: "value"}


def test_a_key_that_is_not_a_string_is_left() -> None:
    event: dict[Any, Any] = {"event": "x", 3: "value", ("a", "b"): 1, "Token": "t"}
    assert redact(None, "info", event) == {"event": "x", 3: "value", ("a", "b"): 1, "Token": REDACTED}


# -- the walk for NUL and lone surrogates runs only when an escape could have made one --------------


def test_an_escaped_ampersand_does_not_trigger_the_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    import adapters.jsonbody as jsonbody

    walked: list[object] = []
    monkeypatch.setattr(jsonbody, "unstorable_text", lambda value: walked.append(value) or False)
    assert load_json_body(b'{"landing_site":"/?a=1\\u0026b=2","note":"\\u00e9"}') == {
        "landing_site": "/?a=1&b=2",
        "note": "\u00e9",
    }
    assert walked == []


@pytest.mark.parametrize(
    "raw",
    [b'{"a":"\\u0000"}', b'{"a":"\\ud800x"}', b'{"a":"\\uDFFF"}', b'{"\\u0000":1}', b'["ok","\\udc00"]'],
)
def test_an_escape_that_can_make_a_nul_or_a_surrogate_is_still_checked(raw: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        load_json_body(raw)
    assert caught.value.status == 400


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul() -> None:
    assert load_json_body(b'{"a":"\\\\u0000"}') == {"a": "\\u0000"}


@pytest.mark.parametrize("size", [0, 1, 63, 64, 2046, 2047, 2048, 4094, 4095, 5300, 100_000])
@pytest.mark.parametrize("secret", ["", "s", "x" * 64, "y" * 65, "é-secret"])
def test_the_webhook_hmac_is_the_standard_librarys(size: int, secret: str) -> None:
    import hmac
    import os

    from adapters.webhooks import hmac_sha256

    body = os.urandom(size)
    assert hmac_sha256(body, secret) == hmac.digest(secret.encode(), body, "sha256")
