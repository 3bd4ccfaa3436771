"""The error tree: what each error tells the caller to do, and the context it carries."""

from __future__ import annotations

from worker.errors import (
    ApiError,
    ApiRejected,
    AuthenticationFailed,
    FatalError,
    MappingError,
    OutcomeUnknown,
    RateLimited,
    RetriableError,
    SkippableError,
    TransientError,
    WebhookRejected,
)


def test_the_tree_groups_errors_by_what_to_do() -> None:
    assert issubclass(RateLimited, RetriableError)
    assert issubclass(OutcomeUnknown, TransientError)
    assert issubclass(TransientError, RetriableError)
    assert issubclass(ApiRejected, FatalError)
    assert issubclass(AuthenticationFailed, FatalError)
    assert issubclass(MappingError, SkippableError)
    assert issubclass(WebhookRejected, SkippableError)
    assert not issubclass(RateLimited, FatalError)


def test_api_errors_carry_their_context_and_drop_query_strings() -> None:
    error = ApiRejected(
        "rejected",
        service="Picqer",
        status=400,
        error_code=24,
        error_message="Product you are trying to order, does not exists",
        method="POST",
        url="https://x.picqer.com/api/v1/orders?consumer_secret=s3cret",
    )
    assert isinstance(error, ApiError)
    assert error.url == "https://x.picqer.com/api/v1/orders"
    assert error.reason == "Picqer answered 400, error 24: Product you are trying to order, does not exists"


def test_a_rate_limit_carries_its_wait_and_a_mapping_error_its_field() -> None:
    assert RateLimited("slow down", retry_after=2.5, service="Picqer", status=429).retry_after == 2.5
    mapping = MappingError("line 2 has no SKU", field="line_items[1].sku")
    assert (mapping.reason, mapping.field) == ("line 2 has no SKU", "line_items[1].sku")
    assert WebhookRejected("bad signature", status=401).status == 401
