"""The budget stamps a request's slot when its answer comes (not when it was taken), so it can use
the whole limit without ever running ahead of Picqer's own window (issue 12: 0.90 -> 0.97+)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import TEST_REDIS_NAMESPACE
from worker.infra.budget import LocalRequestBudget, RedisRequestBudget


class FakeTime:
    """A settable clock whose sleep moves it on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now += seconds


def local_budget(time: FakeTime, *, limit: int, window: float, margin: float = 0.0) -> LocalRequestBudget:
    return LocalRequestBudget(
        requests_per_minute=limit,
        window_seconds=window,
        margin_seconds=margin,
        clock=time.clock,
        sleep=time.sleep,
    )


def test_the_whole_limit_is_used_without_waiting() -> None:
    time = FakeTime()
    budget = local_budget(time, limit=500, window=60)
    for _ in range(500):
        budget.acquire()
        budget.observe(limit=500, remaining=None)
    assert time.slept == 0.0  # no headroom below the limit any more


def test_a_slot_leaves_the_window_one_window_after_its_answer_plus_the_margin() -> None:
    time = FakeTime()
    budget = local_budget(time, limit=1, window=10, margin=0.25)
    budget.acquire()  # taken at 1000
    time.now += 3  # Picqer answered 3 s later: it may have counted the request as late as that
    budget.observe(limit=None, remaining=None)
    budget.acquire()
    assert time.now >= 1000 + 3 + 10 + 0.25


def test_a_request_that_got_no_answer_keeps_its_slot_until_its_thread_sends_again() -> None:
    time = FakeTime()
    budget = local_budget(time, limit=2, window=10)
    budget.acquire()  # sent at 1000, then it timed out: no observe
    time.now += 5
    budget.acquire()  # the thread's next request: the lost one is moved to 1005
    time.now += 6  # 1011: stamped at 1000 it would have left the window
    budget.observe(limit=None, remaining=None)  # the second is answered at 1011
    budget.acquire()
    assert time.now >= 1005 + 10


def test_waits_follow_the_answers_not_the_order_slots_were_taken() -> None:
    time = FakeTime()
    budget = local_budget(time, limit=2, window=10)
    budget.acquire()
    time.now += 4
    budget.observe(limit=None, remaining=None)  # answered at 1004
    budget.acquire()
    budget.observe(limit=None, remaining=None)  # taken and answered at 1004 too
    budget.acquire()
    assert time.now == pytest.approx(1014, abs=0.02)  # not 1010, when the first was taken


@pytest.mark.parametrize("store", ["fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
def test_redis_moves_the_slot_to_the_time_of_the_answer(store: str, request: pytest.FixtureRequest) -> None:
    if store == "fakeredis":
        import fakeredis

        client: Any = fakeredis.FakeRedis()
    else:
        client = request.getfixturevalue("real_redis")
    key = f"{TEST_REDIS_NAMESPACE}:budget:pacing"
    client.delete(key)
    budget = RedisRequestBudget(client, key=key, requests_per_minute=10, margin_seconds=0.5)
    budget.acquire()
    [(_, taken)] = client.zrange(key, 0, -1, withscores=True)
    seconds, micros = client.time()
    answered = seconds * 1000 + micros // 1000
    budget.observe(limit=10, remaining=9)
    [(_, settled)] = client.zrange(key, 0, -1, withscores=True)  # the same slot, moved; no placeholder
    assert taken <= answered
    assert settled >= answered + 500
    budget.acquire()  # another request without an answer: only its own slot is added
    assert client.zcard(key) == 2
    client.delete(key)
