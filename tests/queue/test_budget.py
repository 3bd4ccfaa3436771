"""The shared Picqer request budget, in Redis (two instances = two processes) and in memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import TEST_REDIS_NAMESPACE
from worker.config import PicqerSettings
from worker.infra.budget import LocalRequestBudget, RedisRequestBudget, account_key, make_budget

BudgetFactory = Callable[..., Any]


@pytest.fixture(params=["local", "fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
def new_budget(request: pytest.FixtureRequest) -> BudgetFactory:
    """Builds budgets over one store: instances from one factory share their window."""
    shared: dict[str, Any] = {}
    redis_client: Any = None
    if request.param == "fakeredis":
        import fakeredis

        redis_client = fakeredis.FakeRedis()
    elif request.param == "redis":
        redis_client = request.getfixturevalue("real_redis")

    def factory(*, per_window: int, window: float, headroom: float = 0.0) -> Any:
        if redis_client is not None:
            return RedisRequestBudget(
                redis_client,
                key=f"{TEST_REDIS_NAMESPACE}:budget:test",
                requests_per_minute=per_window,
                window_seconds=window,
                headroom=headroom,
            )
        # one in-memory budget per process: "two instances" are the same object
        shared.setdefault(
            "local",
            LocalRequestBudget(requests_per_minute=per_window, window_seconds=window, headroom=headroom),
        )
        return shared["local"]

    return factory


def _acquire_all(budgets: list[Any], count: int) -> list[float]:
    """``count`` acquisitions spread over threads, one thread per budget; returns their times."""
    stamps: list[float] = []
    lock = threading.Lock()

    def work(budget: Any, n: int) -> None:
        for _ in range(n):
            budget.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=work, args=(b, count // len(budgets))) for b in budgets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return sorted(stamps)


def _max_in_window(stamps: list[float], window: float) -> int:
    return max(sum(1 for t in stamps if start <= t < start + window) for start in stamps)


def test_two_processes_together_stay_under_the_limit(new_budget: BudgetFactory) -> None:
    first, second = new_budget(per_window=5, window=0.5), new_budget(per_window=5, window=0.5)
    started = time.monotonic()
    stamps = _acquire_all([first, second], 12)
    assert len(stamps) == 12
    # 12 requests at 5 per half second need at least two full windows
    assert time.monotonic() - started >= 0.95
    # a little slack for the time between Redis granting and this thread stamping
    assert _max_in_window(stamps, 0.45) <= 5


def test_headroom_keeps_a_margin_below_the_limit(new_budget: BudgetFactory) -> None:
    budget = new_budget(per_window=20, window=0.6, headroom=0.25)
    stamps = _acquire_all([budget], 16)
    assert _max_in_window(stamps, 0.55) <= 15


def test_low_remaining_from_picqer_slows_everyone_down(new_budget: BudgetFactory) -> None:
    budget, other = new_budget(per_window=100, window=0.6), new_budget(per_window=100, window=0.6)
    budget.acquire()
    started = time.monotonic()
    other.acquire()
    assert time.monotonic() - started < 0.2  # plenty left by our own count
    budget.observe(limit=100, remaining=0)  # Picqer disagrees: nothing left
    started = time.monotonic()
    other.acquire()
    assert time.monotonic() - started >= 0.5


def test_a_lower_limit_from_picqer_is_honoured(new_budget: BudgetFactory) -> None:
    budget = new_budget(per_window=100, window=0.6)
    budget.observe(limit=3, remaining=None)
    started = time.monotonic()
    for _ in range(4):
        budget.acquire()
    assert time.monotonic() - started >= 0.5  # the fourth waited for the window


def test_a_penalty_blocks_every_instance(new_budget: BudgetFactory) -> None:
    budget, other = new_budget(per_window=100, window=60), new_budget(per_window=100, window=60)
    budget.penalise(0.5)
    started = time.monotonic()
    other.acquire()
    assert time.monotonic() - started >= 0.45
    # a shorter penalty never shortens a longer one
    budget.penalise(0.6)
    budget.penalise(0.01)
    started = time.monotonic()
    other.acquire()
    assert time.monotonic() - started >= 0.5


def test_make_budget_keys_the_window_per_account(redis_client: Any) -> None:
    picqer = PicqerSettings(url="https://Example.picqer.com/api/v1/", requests_per_minute=120)
    assert isinstance(make_budget(picqer), LocalRequestBudget)
    assert isinstance(make_budget(picqer, redis_client=redis_client), RedisRequestBudget)
    assert account_key(picqer.url) == "picqer-sync:budget:example.picqer.com"
