"""Picqer's answers and failures become the right types of the error tree, with their context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import structlog

from adapters.picqer.budget import RateLimitState
from adapters.picqer.client import PicqerClient
from tests.picqer_client.conftest import API_KEY, FakePicqer
from worker.errors import (
    ApiRejected,
    AuthenticationFailed,
    FatalError,
    OutcomeUnknown,
    RateLimited,
    TransientError,
)

ERROR_24 = {
    "error": True,
    "error_code": 24,
    "error_message": "Product you are trying to order, does not exists",
}

CREATES: dict[str, Callable[[PicqerClient], Any]] = {
    "create_order": lambda c: c.create_order({"products": [{"productcode": "X", "amount": 1}]}),
    "create_tag": lambda c: c.create_tag("shop-a"),
    "create_hook": lambda c: c.create_hook(
        name="n", event="orders.created", address="https://a/b", secret="s"
    ),
    "add_order_note": lambda c: c.add_order_note(1, "note"),
    "create_product": lambda c: c.create_product({"productcode": "X"}),
    "add_order_product": lambda c: c.add_order_product(1, {"idproduct": 2, "amount": 1}),
    "change_product_stock(change=)": lambda c: c.change_product_stock(1, 2, change=3, reason="r"),
}
SAFE_CALLS: dict[str, Callable[[PicqerClient], Any]] = {
    "get_order": lambda c: c.get_order(1),
    "update_order": lambda c: c.update_order(1, {"reference": "R"}),
    "process_order": lambda c: c.process_order(1),
    "cancel_order": lambda c: c.cancel_order(1),
    "add_order_tag": lambda c: c.add_order_tag(1, 2),
    "change_product_stock(amount=)": lambda c: c.change_product_stock(1, 2, amount=3, reason="r"),
    "iter_orders": lambda c: list(c.iter_orders()),
}


def test_error_body_becomes_api_rejected_with_its_fields(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(400, ERROR_24)
    with pytest.raises(ApiRejected) as caught:
        client.create_order({"products": [{"productcode": "NOPE", "amount": 1}]})
    error = caught.value
    assert isinstance(error, FatalError)
    assert error.service == "Picqer"
    assert error.status == 400
    assert error.error_code == 24
    assert error.error_message == ERROR_24["error_message"]
    assert error.method == "POST"
    assert error.url == "https://example.picqer.com/api/v1/orders"
    assert error.body == ERROR_24
    assert "answered 400, error 24" in error.reason


def test_url_on_error_has_no_query_string(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(404, {"error": True, "error_code": 20, "error_message": "Item not found"})
    with pytest.raises(ApiRejected) as caught:
        client.cancel_order(77, force=True)
    assert caught.value.url == "https://example.picqer.com/api/v1/orders/77"
    assert caught.value.status == 404


def test_404_is_api_rejected(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(404, {"error": True, "error_code": 20, "error_message": "Item not found"})
    with pytest.raises(ApiRejected) as caught:
        client.get_order(9)
    assert (caught.value.status, caught.value.error_code) == (404, 20)
    assert not isinstance(caught.value, TransientError)


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_authentication_failed(status: int, client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(status, {"error": True, "error_code": 3, "error_message": "No access"})
    with pytest.raises(AuthenticationFailed) as caught:
        client.get_order(1)
    assert caught.value.status == status
    assert caught.value.error_message == "No access"


def test_429_is_rate_limited_with_default_wait_and_rate_limit_state(
    client: PicqerClient, picqer: FakePicqer
) -> None:
    picqer.answer(
        429,
        {"error": True, "error_code": 28, "error_message": "Rate limit exceeded"},
        headers={"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "0"},
    )
    with pytest.raises(RateLimited) as caught:
        client.get_order(1)
    assert caught.value.retry_after == 7.5  # the client fixture's rate_limit_wait
    assert caught.value.error_code == 28
    assert caught.value.status == 429
    assert client.rate_limit == RateLimitState(limit=500, remaining=0)


def test_default_rate_limit_wait_is_ten_seconds(picqer: FakePicqer) -> None:
    picqer.answer(429, {"error": True, "error_code": 28, "error_message": "Rate limit exceeded"})
    transport = httpx.MockTransport(picqer.handle)
    with (
        PicqerClient("https://x.picqer.com/api/v1/", "k", transport=transport) as c,
        pytest.raises(RateLimited) as caught,
    ):
        c.get_order(1)
    assert caught.value.retry_after == 10.0


@pytest.mark.parametrize(("header", "expected"), [("3", 3.0), ("0.5", 0.5), ("soon", 7.5)])
def test_429_uses_retry_after_when_sent(
    header: str, expected: float, client: PicqerClient, picqer: FakePicqer
) -> None:
    picqer.answer(429, {"error": True}, headers={"Retry-After": header})
    with pytest.raises(RateLimited) as caught:
        client.get_order(1)
    assert caught.value.retry_after == expected


def test_429_on_a_create_is_rate_limited_not_outcome_unknown(
    client: PicqerClient, picqer: FakePicqer
) -> None:
    # Picqer ignores a rate-limited request, so nothing was created and it can be sent again
    picqer.answer(429, {"error": True, "error_code": 28})
    with pytest.raises(RateLimited) as caught:
        client.create_order({"products": []})
    assert not isinstance(caught.value, OutcomeUnknown)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("name", list(SAFE_CALLS))
def test_5xx_on_safe_calls_is_transient(
    name: str, status: int, client: PicqerClient, picqer: FakePicqer
) -> None:
    picqer.answer(status, {"error": True, "error_code": 1, "error_message": "Unknown application error"})
    with pytest.raises(TransientError) as caught:
        SAFE_CALLS[name](client)
    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.status == status
    assert caught.value.error_code == 1


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("timed out"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("closed")],
    ids=["timeout", "connect", "protocol"],
)
@pytest.mark.parametrize("name", list(SAFE_CALLS))
def test_transport_failures_on_safe_calls_are_transient(
    name: str, failure: Exception, client: PicqerClient, picqer: FakePicqer
) -> None:
    picqer.fail(failure)
    with pytest.raises(TransientError) as caught:
        SAFE_CALLS[name](client)
    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.status is None
    assert caught.value.service == "Picqer"
    assert caught.value.url is not None
    assert caught.value.url.startswith("https://example.picqer.com/api/v1/")


@pytest.mark.parametrize("name", list(CREATES))
def test_500_on_creates_is_outcome_unknown(name: str, client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(500, {"error": True, "error_code": 1, "error_message": "Picqer is mistaken"})
    with pytest.raises(OutcomeUnknown) as caught:
        CREATES[name](client)
    assert caught.value.status == 500
    assert caught.value.method == "POST"


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("timed out"), httpx.WriteTimeout("timed out"), httpx.ConnectError("refused")],
    ids=["read-timeout", "write-timeout", "connect"],
)
@pytest.mark.parametrize("name", list(CREATES))
def test_transport_failures_on_creates_are_outcome_unknown(
    name: str, failure: Exception, client: PicqerClient, picqer: FakePicqer
) -> None:
    picqer.fail(failure)
    with pytest.raises(OutcomeUnknown):
        CREATES[name](client)


def test_create_answered_with_unreadable_body_is_outcome_unknown(
    client: PicqerClient, picqer: FakePicqer
) -> None:
    picqer.answer(201, text="<html>gateway</html>")
    with pytest.raises(OutcomeUnknown):
        client.create_order({"products": []})
    picqer.answer(201, {"unexpected": "shape"})
    with pytest.raises(OutcomeUnknown):
        client.create_order({"products": []})


def test_read_answered_with_unreadable_body_is_transient(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(200, {"no": "idorder"})
    with pytest.raises(TransientError) as caught:
        client.get_order(1)
    assert not isinstance(caught.value, OutcomeUnknown)
    assert "idorder" in str(caught.value)


def test_non_json_error_body_falls_back_to_truncated_text(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(502, text="Bad Gateway " + "x" * 5000)
    with pytest.raises(TransientError) as caught:
        client.get_order(1)
    error = caught.value
    assert error.error_code is None
    assert error.error_message is not None
    assert error.error_message.startswith("Bad Gateway")
    assert len(error.error_message) <= 500


def test_json_error_body_that_is_not_picqers_shape(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(422, {"message": "weird"})
    with pytest.raises(ApiRejected) as caught:
        client.update_order(1, {})
    assert caught.value.error_code is None
    assert caught.value.error_message is not None
    assert "weird" in caught.value.error_message


def test_api_key_never_reaches_the_exception(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(401, text=f"bad key {API_KEY}")
    with pytest.raises(AuthenticationFailed) as caught:
        client.get_order(1)
    error = caught.value
    everything = " ".join(
        str(part) for part in (error, error.reason, error.error_message, error.body, error.url)
    )
    assert API_KEY not in everything
    assert "[redacted]" in everything

    picqer.answer(400, {"error": True, "error_code": 5, "error_message": f"key {API_KEY} lacks rights"})
    with pytest.raises(ApiRejected) as caught_json:
        client.get_order(1)
    rejected = caught_json.value
    everything = " ".join(
        str(part) for part in (rejected, rejected.reason, rejected.error_message, rejected.body, rejected.url)
    )
    assert API_KEY not in everything


def test_debug_log_line_per_request_without_query_or_key(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(200, [], headers={"X-RateLimit-Remaining": "498", "X-RateLimit-Limit": "500"})
    with structlog.testing.capture_logs() as logs:
        client.list_orders(reference="secret-ish-ref")
    requests = [entry for entry in logs if entry["event"] == "picqer_request"]
    assert len(requests) == 1
    entry = requests[0]
    assert entry["log_level"] == "debug"
    assert (entry["method"], entry["path"], entry["status"], entry["remaining"]) == (
        "GET",
        "/api/v1/orders",
        200,
        498,
    )
    assert "secret-ish-ref" not in repr(logs)
    assert API_KEY not in repr(logs)
