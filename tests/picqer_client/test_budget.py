"""The rate-limit headers and the shared request budget, around every request."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.picqer.budget import RateLimitState, RequestBudget
from adapters.picqer.client import PicqerClient
from tests.picqer_client.conftest import BASE_URL, FakePicqer
from worker.errors import RateLimited, TransientError


class RecordingBudget:
    def __init__(self, picqer: FakePicqer) -> None:
        self.calls: list[tuple[str, Any]] = []
        self._picqer = picqer

    def acquire(self) -> None:
        # how many requests had reached Picqer when we were asked: proves acquire comes first
        self.calls.append(("acquire", len(self._picqer.requests)))

    def observe(self, *, limit: int | None, remaining: int | None) -> None:
        self.calls.append(("observe", (limit, remaining)))

    def penalise(self, retry_after: float) -> None:
        self.calls.append(("penalise", retry_after))


def make(picqer: FakePicqer) -> tuple[PicqerClient, RecordingBudget]:
    budget = RecordingBudget(picqer)
    assert isinstance(budget, object)
    typed: RequestBudget = budget  # the recorder satisfies the Protocol (mypy checks this line)
    client = PicqerClient(
        BASE_URL, "k", transport=httpx.MockTransport(picqer.handle), budget=typed, rate_limit_wait=4
    )
    return client, budget


def test_rate_limit_state_starts_empty(client: PicqerClient) -> None:
    assert client.rate_limit == RateLimitState(limit=None, remaining=None)


def test_rate_limit_headers_read_from_each_response(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(200, {"idorder": 1}, headers={"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "499"})
    picqer.answer(404, {"error": True}, headers={"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "498"})
    picqer.answer(200, {"idorder": 1})

    client.get_order(1)
    assert client.rate_limit == RateLimitState(limit=500, remaining=499)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the type is tested elsewhere; the state is the point
        client.get_order(1)
    assert client.rate_limit == RateLimitState(limit=500, remaining=498)
    client.get_order(1)  # no headers: the state says so rather than keeping stale numbers
    assert client.rate_limit == RateLimitState(limit=None, remaining=None)


def test_rate_limit_state_is_frozen() -> None:
    state = RateLimitState(limit=1, remaining=0)
    with pytest.raises(AttributeError):
        state.remaining = 5  # type: ignore[misc]


def test_budget_acquire_before_and_observe_after_each_request(picqer: FakePicqer) -> None:
    client, budget = make(picqer)
    picqer.answer(200, {"idorder": 1}, headers={"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "42"})
    picqer.answer(200, {"idorder": 2}, headers={"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "41"})

    client.get_order(1)
    client.get_order(2)

    assert budget.calls == [
        ("acquire", 0),
        ("observe", (500, 42)),
        ("acquire", 1),
        ("observe", (500, 41)),
    ]


def test_budget_penalised_after_429(picqer: FakePicqer) -> None:
    client, budget = make(picqer)
    picqer.answer(429, {"error": True, "error_code": 28}, headers={"X-RateLimit-Remaining": "0"})
    with pytest.raises(RateLimited):
        client.get_order(1)
    assert budget.calls == [("acquire", 0), ("observe", (None, 0)), ("penalise", 4.0)]


def test_budget_not_penalised_on_other_errors_and_observed_on_them(picqer: FakePicqer) -> None:
    client, budget = make(picqer)
    picqer.answer(503, {"error": True}, headers={"X-RateLimit-Remaining": "7"})
    with pytest.raises(TransientError):
        client.get_order(1)
    assert budget.calls == [("acquire", 0), ("observe", (None, 7))]


def test_budget_acquired_per_page(picqer: FakePicqer) -> None:
    client, budget = make(picqer)
    picqer.answer(200, [{"idorder": n} for n in range(100)]).answer(200, [])
    list(client.iter_orders())
    assert [name for name, _ in budget.calls] == ["acquire", "observe", "acquire", "observe"]


def test_connection_failure_acquires_but_observes_nothing(picqer: FakePicqer) -> None:
    client, budget = make(picqer)
    picqer.fail(httpx.ConnectError("refused"))
    with pytest.raises(TransientError):
        client.get_order(1)
    assert budget.calls == [("acquire", 0)]
