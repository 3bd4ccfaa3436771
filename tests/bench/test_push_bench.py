"""Benchmark: four worker threads in two processes push 300 orders into a sandbox limited to 600
requests a minute, sharing one Redis request budget. Picqer must (almost) never answer 429.

Run with ``make bench`` (``pytest -m bench -s tests/bench``); needs a real Redis (processes cannot
share fakeredis). Prints the measured numbers.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.bench.test_latency_bench import record_results, request_figures
from tests.conftest import REDIS_URL, TEST_REDIS_NAMESPACE, delete_own_redis_keys, require_service

pytestmark = pytest.mark.bench

ORDERS = 300
PROCESSES = 2
THREADS_PER_PROCESS = 2
RATE_LIMIT = 600
SKU = "IPOD2008GREEN"
TAGS = ("bench",)


def push_in_process(picqer_url: str, database_url: str, numbers: list[str], results: Any) -> None:
    """One worker process: its own engine and client, the budget shared through Redis."""
    import redis

    from adapters.picqer.client import PicqerClient
    from tests.sync.conftest import make_settings, mapped_order
    from worker.app import build_app
    from worker.errors import RateLimited
    from worker.infra.budget import RedisRequestBudget, account_key
    from worker.logging import configure_logging
    from worker.sync.push import push_order
    from worker.sync.tags import TagCache

    configure_logging(log_format="console", level="WARNING")  # one line per request would drown the numbers
    client = redis.Redis.from_url(REDIS_URL)
    budget = RedisRequestBudget(
        client, key=account_key(picqer_url, TEST_REDIS_NAMESPACE), requests_per_minute=RATE_LIMIT
    )
    picqer = PicqerClient(picqer_url, "bench-key", budget=budget, timeout=60)
    app = build_app(make_settings(database_url), picqer_client=picqer, redis=client, tag_cache=TagCache())
    ctx = app.context
    waits = Counter[str]()

    def push(number: str) -> str:
        while True:
            try:
                return push_order(ctx, mapped_order(number, skus=(SKU,), tags=TAGS)).kind.value
            except RateLimited as error:  # as the actor would: wait, no retry spent
                waits["429"] += 1
                time.sleep(error.retry_after)

    with ThreadPoolExecutor(THREADS_PER_PROCESS) as pool:
        kinds = Counter(pool.map(push, numbers))
    results.put({"kinds": dict(kinds), "waits": dict(waits)})
    picqer.close()
    app.close()


def test_shared_budget_keeps_many_workers_under_the_rate_limit(tmp_path: Path) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    from sandbox.app import create_sandbox_app
    from tests.support.liveserver import serve
    from worker.db.migrate import upgrade_database

    delete_own_redis_keys(redis.Redis.from_url(REDIS_URL))
    database_url = f"sqlite:///{tmp_path / 'bench.db'}"
    upgrade_database(database_url)
    numbers = [str(10_000 + n) for n in range(ORDERS)]
    with serve(create_sandbox_app(rate_limit=RATE_LIMIT)) as url:
        control = httpx.Client(base_url=f"{url}/_sandbox/picqer/")
        control.delete("requests")
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        started = time.monotonic()
        processes = [
            context.Process(
                target=push_in_process,
                args=(f"{url}/picqer/api/v1/", database_url, numbers[index::PROCESSES], results),
            )
            for index in range(PROCESSES)
        ]
        for process in processes:
            process.start()
        reports = [results.get(timeout=600) for _ in processes]
        for process in processes:
            process.join(30)
        elapsed = time.monotonic() - started
        logged = control.get("requests").json()
        statuses = Counter(row["status"] for row in logged)
    kinds = sum((Counter(report["kinds"]) for report in reports), Counter[str]())
    total = sum(statuses.values())
    rate = total / elapsed * 60
    print(
        f"\nbench: {ORDERS} orders, {PROCESSES} processes x {THREADS_PER_PROCESS} threads,"
        f" limit {RATE_LIMIT}/min:"
        f" {elapsed:.1f} s, {total} requests ({rate:.0f}/min), 429s: {statuses.get(429, 0)},"
        f" outcomes: {dict(kinds)}, statuses: {dict(statuses)}"
    )
    ok = [row for row in logged if row["status"] != 429]  # a 429 is repeated, not a cost of the order
    figures = request_figures(ok, ORDERS, bound=2 + len(TAGS))
    record_results("push (shared budget)", figures)
    print(
        f"  Picqer requests per order: {figures['requests_per_order']:.2f} in all;"
        f" steady path {figures['steady_requests_per_order']:.2f} per order"
        f" (bound 2 + tags = {figures['steady_bound_per_order']:.2f};"
        f" look-ups by reference {figures['lookups_by_reference']});"
        f" one-off (Picqer index, tag cache): {figures['one_off_requests']}"
    )
    assert kinds["pushed"] == ORDERS
    assert statuses.get(429, 0) <= total * 0.01
