"""Chaos on the real stack: the Procfile's processes on PostgreSQL and Redis, while everything breaks.

``picqer-sync web``, two ``picqer-sync worker`` processes and ``picqer-sync scheduler`` run as
subprocesses against the sandbox (also a subprocess), configured by a TOML file the run writes, on
a schema and a Redis namespace of their own, each reached through a proxy the run can cut. More than
500 paid orders come in from Shopify and WooCommerce by webhook and from Magento by poll while the
fault plan (harness/faultplan.py) kills workers every 5-10 s and the scheduler once, cuts Redis and
then PostgreSQL for 20 s each, and has Picqer and the webhooks misbehave. Then the run counts
(harness/counting.py), writes ``.bench/chaos.json`` and fails unless every count is 0 and the last
order reached Picqer within a minute of the last fault.

The harness, one job a module: ``services`` (schema, namespace), ``proxy`` (the cuttable TCP
proxies), ``processes`` (subprocesses under a supervisor), ``config`` (the config file),
``sandbox`` (its control endpoints), ``load`` (the shops' orders), ``faultplan`` (what breaks
when), ``observer`` (when each order reached Picqer), ``counting`` and ``report``.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.chaos.harness.config import PICQER_TIMEOUT_SECONDS, Endpoints, Secrets, write_config
from tests.chaos.harness.counting import (
    arrival_summary,
    count_failures,
    count_log_lines,
    count_orders,
    mirror_rows,
    recovery_seconds,
)
from tests.chaos.harness.faultplan import OUTAGE_SECONDS, PICQER_FAULTS, WEBHOOK_FAULTS, FaultPlan
from tests.chaos.harness.load import LoadPlan, OrderLoad
from tests.chaos.harness.observer import ArrivalObserver
from tests.chaos.harness.processes import Supervisor, clean_environment
from tests.chaos.harness.proxy import ProxyLoop, TcpProxy
from tests.chaos.harness.report import REPORT_FILE, Verdict, iso, table, write_report
from tests.chaos.harness.sandbox import Sandbox
from tests.chaos.harness.services import POSTGRES, REDIS, Services, own_services

RUN_TIMEOUT_SECONDS = 900  # the whole run, on 2 cores, stays under 15 minutes
pytestmark = [pytest.mark.chaos, pytest.mark.timeout(RUN_TIMEOUT_SECONDS)]

# a smaller run while working on the harness: PICQER_SYNC_CHAOS_SCALE=0.2 (orders and time scale)
SCALE = float(os.environ.get("PICQER_SYNC_CHAOS_SCALE", "1"))
LOAD = LoadPlan(
    shopify=round(220 * SCALE),
    woocommerce=round(200 * SCALE),
    magento=round(90 * SCALE),
    unpaid_every=25,
    seconds=max(60.0, 150.0 * SCALE),
)
# Picqer requests a minute the sandbox allows, and the budget the processes keep to (an account with
# a raised limit): the backlog the outages leave (a few hundred orders, ~3 requests each) drains at the
# budget's pace after the last fault, so at 1,200/min the drain alone took 30-60 s of the 60 s bound;
# at 3,000/min it is the pipeline's own speed that is measured, not the account's limit
SANDBOX_RATE_LIMIT = 3600
REQUESTS_PER_MINUTE = 3000
DRAIN_SECONDS = 240.0  # after the last fault, the bounded wait for every order to reach Picqer
SETTLE_SECONDS = 45.0  # then for the mirror to agree and the failures to clear (late duplicates show)
MIN_SETTLE_SECONDS = 5.0
START_SECONDS = 60.0


@dataclass
class Stack:
    services: Services
    supervisor: Supervisor
    sandbox: Sandbox
    redis_proxy: TcpProxy
    postgres_proxy: TcpProxy
    web_url: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _require(name: str, address: tuple[str, int]) -> None:
    try:
        socket.create_connection(address, timeout=1.0).close()
    except OSError:
        pytest.fail(f"the chaos run needs {name} at {address[0]}:{address[1]}")


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"web did not answer /healthz at {url}")


def _checked(done: Any, what: str) -> None:
    if done.returncode != 0:
        pytest.fail(
            f"`picqer-sync {what}` exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    _require("PostgreSQL", POSTGRES)
    _require("Redis", REDIS)
    logs = tmp_path / "logs"
    logs.mkdir()
    config_file = tmp_path / "picqer-sync.toml"
    proxies = ProxyLoop()
    with own_services() as services:
        redis_proxy = TcpProxy(proxies, name="redis", target=REDIS)
        postgres_proxy = TcpProxy(proxies, name="postgresql", target=POSTGRES)
        redis_proxy.start()
        postgres_proxy.start()
        supervisor = Supervisor(config_file=config_file, log_dir=logs, env=clean_environment({}))
        sandbox_port, web_port = _free_port(), _free_port()
        sandbox = Sandbox(f"http://127.0.0.1:{sandbox_port}")
        try:
            supervisor.start(
                "sandbox",
                "sandbox",
                "--port",
                str(sandbox_port),
                "--rate-limit",
                str(SANDBOX_RATE_LIMIT),
                is_product=False,
            )
            sandbox.wait_until_up()
            secrets = Secrets.issue(sandbox.credentials())
            write_config(
                config_file,
                Endpoints(
                    sandbox_url=sandbox.url,
                    web_port=web_port,
                    database_url=services.database_url(postgres_proxy.port),
                    redis_url=services.redis_url(redis_proxy.port),
                    redis_namespace=services.redis_namespace,
                    requests_per_minute=REQUESTS_PER_MINUTE,
                ),
            )
            supervisor.env = clean_environment(secrets.values)
            _checked(supervisor.run_command("db", "upgrade"), "db upgrade")
            web_url = f"http://127.0.0.1:{web_port}"
            supervisor.start("web", "web", "--host", "127.0.0.1", "--port", str(web_port))
            _wait_healthy(web_url)
            _checked(supervisor.run_command("hooks", "sync"), "hooks sync")
            for name in ("worker-1", "worker-2"):
                supervisor.start(name, "worker")
            supervisor.start("scheduler", "scheduler")
            yield Stack(services, supervisor, sandbox, redis_proxy, postgres_proxy, web_url)
        finally:
            supervisor.stop_all()
            sandbox.close()
            redis_proxy.stop()
            postgres_proxy.stop()
            proxies.close()


def test_every_paid_order_once_in_picqer_within_a_minute_of_the_last_fault(stack: Stack) -> None:
    started = time.monotonic()
    sandbox = stack.sandbox
    baseline = {int(order["idorder"]) for order in sandbox.picqer_orders()}  # the seeded orders
    observer = ArrivalObserver(sandbox)
    load = OrderLoad(sandbox, LOAD)
    plan = FaultPlan(sandbox, stack.supervisor, stack.redis_proxy, stack.postgres_proxy, seconds=LOAD.seconds)

    observer.start()
    load.start()
    plan.start(load)
    plan.join()
    last_fault = plan.last_fault_ended
    paid = {order.reference for order in load.made if order.paid}

    # every paid order in Picqer, processed: the wait only decides when to count
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline and not paid <= observer.arrived.keys():
        time.sleep(1.0)
    observer.stop()

    # the mirror catches up with Picqer's hooks, the failures clear; late duplicates would show now
    settle_until = time.monotonic() + SETTLE_SECONDS
    time.sleep(MIN_SETTLE_SECONDS)
    while True:
        counts = count_orders(load.made, observer.look(), baseline, mirror_rows(stack.services.engine))
        failures = _failures(stack.supervisor)
        if (not any(counts.values.values()) and not failures) or time.monotonic() > settle_until:
            break
        time.sleep(3.0)
    count_failures(counts, failures)
    stack.supervisor.stop_all()  # the logs are complete once every process has written its last line
    lines_read = count_log_lines(counts, stack.supervisor.product_logs())

    verdict = Verdict(counts, recovery_seconds(load.made, observer.arrived, last_fault))
    details = _details(stack, load, plan, observer, last_fault, lines_read, time.monotonic() - started)
    write_report(REPORT_FILE, verdict, details)
    print(table(verdict, details))
    assert verdict.passed, "; ".join(verdict.failed_checks)


def _failures(supervisor: Supervisor) -> list[dict[str, Any]]:
    done = supervisor.run_command("failures", "--json")
    _checked(done, "failures --json")
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def _details(
    stack: Stack,
    load: OrderLoad,
    plan: FaultPlan,
    observer: ArrivalObserver,
    last_fault: float,
    lines_read: int,
    run_seconds: float,
) -> dict[str, Any]:
    paid = [order for order in load.made if order.paid]
    arrivals = [observer.arrived[order.reference] for order in paid if order.reference in observer.arrived]
    kinds = Counter(fault.kind for fault in plan.faults)
    return {
        "orders": {
            "paid": len(paid),
            "by_source": dict(Counter(order.source for order in paid)),
            "unpaid": sum(1 for order in load.made if not order.paid),
            "shop_call_errors": len(load.errors),
            "reached_picqer": len(arrivals),
        },
        "faults": {
            "worker_kills": kinds["worker_kill"],
            "scheduler_kills": kinds["scheduler_kill"],
            "redis_outage_seconds": OUTAGE_SECONDS if kinds["redis_outage"] else 0,
            "postgres_outage_seconds": OUTAGE_SECONDS if kinds["postgres_outage"] else 0,
            "picqer_rules": PICQER_FAULTS,
            "picqer_client_timeout_seconds": PICQER_TIMEOUT_SECONDS,
            "webhooks": WEBHOOK_FAULTS,
            "plan_errors": plan.errors,
            "timeline": [
                fault.as_json()
                for fault in sorted(plan.faults, key=lambda f: f.began)
                if fault.kind != "worker_kill"
            ],
        },
        "arrivals": arrival_summary(load.made, observer.arrived, last_fault),
        "last_fault_ended_at": iso(last_fault),
        "last_order_reached_picqer_at": iso(max(arrivals, default=None)),
        "processes": {
            role.name: {"starts": role.starts, "kills": role.kills, "unexpected_exits": role.unexpected_exits}
            for role in stack.supervisor.roles.values()
        },
        "proxies": {
            proxy.name: {"connections": proxy.connections, "dropped": proxy.dropped}
            for proxy in (stack.redis_proxy, stack.postgres_proxy)
        },
        "log_lines_read": lines_read,
        "observer_read_errors": observer.read_errors,
        "run_seconds": round(run_seconds),
    }
