"""Benchmark: Picqer ``orders.status_changed`` events applied per second, from a stored backlog.

A backlog of stored Picqer events (5,332: webhook bodies as Picqer sends them, the whole order) for
``ORDERS`` mirrored orders: each order moves processing -> paused -> processing -> completed
(or stops short of completed), every change is delivered once more by a second hook (a duplicate
with its own body), and the backlog arrives shuffled (late and out-of-order events). Then one real
process drains it, started after the backlog is in place:

* ``picqer-sync worker`` (PostgreSQL in a schema of its own, Redis in this run's namespace, the
  messages enqueued as the receiver enqueues them), ``WORKER_THREADS`` threads;
* ``picqer-sync run`` (SQLite, the in-process queue: the inbox sweep on start enqueues the backlog).

The figure is events applied per second per process: the inbox rows processed, over the span from
the first ``processed_at`` to the last (the process's start-up is not counted). Afterwards the mirror
is checked: every order holds the status of its newest event, and (``worker``) exactly one
fulfilment report is waiting per order that completed. The bound is 500/s (issue 12).

Budget in ``make bench``: about 1 minute (3 x ``worker``, 3 x ``run``).
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.bench.results import REPETITIONS, Figure, record_figure
from tests.chaos.harness.processes import clean_environment, picqer_sync
from tests.conftest import (
    REDIS_URL,
    TEST_REDIS_NAMESPACE,
    delete_own_redis_keys,
    postgres_schema,
    require_service,
)

pytestmark = pytest.mark.bench

ORDERS = 1_000
# processing -> paused -> processing -> completed; a third of the orders stop before completed
CHAIN = ("paused", "processing", "completed")
DUPLICATE_SHARE = 1.0  # every change is delivered twice (status_changed and a second hook)
WORKER_THREADS = 4  # the config default
BOUND = 500.0  # events applied per second per worker process (issue 12)
DRAIN_TIMEOUT = 180.0  # seconds: only decides when to give up; the figure comes from the stamps
BASE = datetime(2026, 3, 1, 9, 0, 0)
FAR_FUTURE_DELAY = 3600.0  # fulfilment reports wait in the delay queue, to be counted, not sent


@dataclass(frozen=True)
class Backlog:
    rows: list[tuple[str, str, str]]  # (event_key, topic, payload) in arrival order
    newest: dict[int, tuple[str, datetime]]  # idorder -> (status, updated) the mirror must end with
    completed: set[int]  # idorders that reach completed (one fulfilment report each)


def picqer_order(idorder: int, status: str, updated: datetime) -> dict[str, Any]:
    """An order as Picqer's hook sends it (the fields of the Orders doc's example, one product)."""
    stamp = updated.strftime("%Y-%m-%d %H:%M:%S")
    number = idorder - 100_000
    order: dict[str, Any] = {
        "idorder": idorder,
        "idcustomer": None,
        "idtemplate": 1,
        "orderid": f"O2026-{number:05d}",
        "deliveryname": "Jan Jansen",
        "deliverycontactname": None,
        "deliveryaddress": "Damrak 1",
        "deliveryaddress2": None,
        "deliveryzipcode": "1012 LG",
        "deliverycity": "Amsterdam",
        "deliveryregion": None,
        "deliverycountry": "NL",
        "full_delivery_address": "Jan Jansen\nDamrak 1\n1012 LG Amsterdam\nNL",
        "invoicename": "Jan Jansen",
        "invoicecountry": "NL",
        "reference": f"#B{number}",
        "emailaddress": "jan@example.nl",
        "telephone": None,
        "customer_remarks": None,
        "status": status,
        "public_status_page": f"https://example.picqer.com/s/{idorder}",
        "created": BASE.strftime("%Y-%m-%d %H:%M:%S"),
        "updated": stamp,
        "products": [
            {
                "idorder_product": idorder * 10,
                "idproduct": 633,
                "productcode": "IPOD2008GREEN",
                "name": "iPod Nano Green",
                "price": 149.0,
                "amount": 1,
            }
        ],
        "orderfields": [],
        "tags": [{"idtag": 5, "title": "bench", "color": "#5993be", "inherit": False}],
        "picklists": [],
    }
    if status != "paused":
        order["picklists"] = [
            {
                "idpicklist": idorder * 10 + 1,
                "picklistid": f"P2026-{number:05d}",
                "status": "closed" if status == "completed" else "new",
                "updated": stamp,
            }
        ]
    return order


def make_backlog(seed: int) -> Backlog:
    from adapters.picqer.webhooks import parse_event

    chooser = random.Random(seed)
    bodies: list[bytes] = []
    newest: dict[int, tuple[str, datetime]] = {}
    completed: set[int] = set()
    for number in range(ORDERS):
        idorder = 100_000 + number
        steps = CHAIN if number % 3 else CHAIN[:2]  # a third stop at processing
        for step, status in enumerate(steps):
            updated = BASE + timedelta(minutes=10 * (step + 1), seconds=number % 60)
            for hook, name in ((30_001, "orders.status_changed"), (30_002, "orders.status_changed")):
                if hook == 30_002 and chooser.random() >= DUPLICATE_SHARE:
                    continue
                envelope = {
                    "idhook": hook,
                    "name": f"picqer-sync {name}",
                    "event": name,
                    "event_triggered_at": updated.strftime("%Y-%m-%d %H:%M:%S"),
                    "data": picqer_order(idorder, status, updated),
                }
                bodies.append(json.dumps(envelope).encode())
            newest[idorder] = (status, updated)
        if steps[-1] == "completed":
            completed.add(idorder)
    chooser.shuffle(bodies)  # arrival order: late, duplicate and out-of-order events mixed
    rows = []
    for body in bodies:
        event = parse_event(body)
        rows.append((event.event_key, event.event, body.decode()))
    return Backlog(rows=rows, newest=newest, completed=completed)


def seed_mirror(database_url: str, backlog: Backlog) -> list[int]:
    """The mirrored orders (processing in Picqer, as pushed) and the stored events; the inbox ids."""
    from worker.db.migrate import upgrade_database
    from worker.db.models import InboxEvent, Order, utcnow
    from worker.db.session import make_engine

    upgrade_database(database_url)
    engine = make_engine(database_url)
    now = utcnow()
    orders = [
        {
            "source": "bench",
            "shop_order_id": str(idorder),
            "shop_order_number": f"B{idorder - 100_000}",
            "reference": f"#B{idorder - 100_000}",
            "shop_status": "paid",
            "shop_state": "",
            "idorder": idorder,
            "sync_state": "synced",
            "sync_step": "processed",
            "picqer_status": "processing",
            "picqer_updated": BASE,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for idorder in backlog.newest
    ]
    inbox = [
        {
            "source": "picqer",
            "event_key": key,
            "topic": topic,
            "payload": payload,
            "received_at": now,
            "attempts": 0,
        }
        for key, topic, payload in backlog.rows
    ]
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(Order.__table__), orders)  # type: ignore[attr-defined]
            connection.execute(sa.insert(InboxEvent.__table__), inbox)  # type: ignore[attr-defined]
            table = InboxEvent.__table__  # type: ignore[attr-defined]
            ids = [row[0] for row in connection.execute(sa.select(table.c.id).order_by(table.c.id))]
    finally:
        engine.dispose()
    return ids


@dataclass(frozen=True)
class Drained:
    rate: float  # events applied per second: rows over the span of their processed_at stamps
    span: float  # seconds from the first processed_at to the last
    wall: float  # seconds from the process's start to the drained backlog (its start-up included)
    wrong: int  # orders whose status is not their newest event's
    errors: int  # inbox rows processed with an error (gave up) or still attempted


def wait_drained(database_url: str, total: int, started: float) -> float:
    from worker.db.session import make_engine

    engine = make_engine(database_url)
    try:
        deadline = started + DRAIN_TIMEOUT
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                done = connection.execute(
                    sa.text("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NOT NULL")
                ).scalar_one()
            if done >= total:
                return time.monotonic() - started
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError(f"the backlog of {total} events was not drained within {DRAIN_TIMEOUT:.0f} s")


def check_mirror(database_url: str, backlog: Backlog, wall: float) -> Drained:
    from worker.db.session import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            first, last, count, errors = connection.execute(
                sa.text(
                    "SELECT min(processed_at), max(processed_at), count(*),"
                    " sum(CASE WHEN error IS NOT NULL OR attempts > 0 THEN 1 ELSE 0 END)"
                    " FROM webhook_inbox"
                )
            ).one()
            rows = connection.execute(
                sa.text("SELECT idorder, picqer_status, picqer_updated FROM orders")
            ).all()
    finally:
        engine.dispose()
    if isinstance(first, str):  # SQLite hands back its text
        first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
    span = max((last - first).total_seconds(), 1e-3)
    wrong = 0
    for idorder, status, updated in rows:
        if isinstance(updated, str):
            updated = datetime.fromisoformat(updated)
        if (status, updated) != backlog.newest[idorder]:
            wrong += 1
    return Drained(rate=(count - 1) / span, span=span, wall=wall, wrong=wrong, errors=int(errors or 0))


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(path: Path, *, database_url: str, redis_url: str = "") -> Path:
    lines = [
        "# written by tests/bench/test_events_bench.py",
        f'database_url = "{database_url}"',
        f'redis_url = "{redis_url}"',
        f'redis_namespace = "{TEST_REDIS_NAMESPACE}"',
        'log_format = "json"',
        'log_level = "INFO"',
        f"worker_threads = {WORKER_THREADS}",
        f"fulfilment_delay_seconds = {FAR_FUTURE_DELAY}",
        "",
        "[picqer]",
        # never called while events are applied; a closed port, on this machine
        'url = "http://127.0.0.1:9/picqer/api/v1/"',
        'api_key = "bench-key"',
        'webhook_secret = "bench-secret"',
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


class SendOnly:
    """The actors are only sent to in this process (the worker process runs them)."""

    def __getattr__(self, name: str) -> Any:
        def elsewhere(*args: Any, **kwargs: Any) -> None:
            raise AssertionError(f"{name} runs in the worker process, not here")

        return elsewhere


def enqueue_backlog(settings: Any, client: Any, inbox_ids: list[int]) -> None:
    """What the receiver did for each stored event: one ``process_picqer_event`` message."""
    from worker.queue.actors import declare_actors
    from worker.queue.broker import make_broker

    broker = make_broker(settings, redis_client=client)
    actors = declare_actors(broker, handlers=SendOnly())  # type: ignore[arg-type]
    for inbox_id in inbox_ids:
        actors.enqueue_inbox("picqer", inbox_id)


def waiting_reports(client: Any) -> Counter[int]:
    """The fulfilment reports in the delay queue, per mirror order id."""
    reports = Counter[int]()
    for raw in client.hvals(f"{TEST_REDIS_NAMESPACE}:picqer-sync.DQ.msgs"):
        message = json.loads(raw)
        if message["actor_name"] == "report_fulfilment":
            reports[int(message["args"][0])] += 1
    return reports


def completed_order_ids(database_url: str) -> set[int]:
    from worker.db.session import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                int(row[0])
                for row in connection.execute(
                    sa.text("SELECT id FROM orders WHERE picqer_status = 'completed'")
                )
            }
    finally:
        engine.dispose()


def drain_with_worker(tmp_path: Path, repetition: int) -> tuple[Drained, dict[str, Any]]:
    import redis

    from worker.config import Settings

    client = redis.Redis.from_url(REDIS_URL)
    delete_own_redis_keys(client)
    backlog = make_backlog(seed=repetition)
    try:
        with postgres_schema("bench_events_") as database_url:
            inbox_ids = seed_mirror(database_url, backlog)
            config = write_config(
                tmp_path / f"worker-{repetition}.toml", database_url=database_url, redis_url=REDIS_URL
            )
            settings = Settings(
                database_url=database_url, redis_url=REDIS_URL, redis_namespace=TEST_REDIS_NAMESPACE
            )
            enqueue_backlog(settings, client, inbox_ids)
            log = tmp_path / f"worker-{repetition}.log"
            with log.open("wb") as sink:
                started = time.monotonic()
                process = subprocess.Popen(
                    [picqer_sync(), "--config", str(config), "worker"],
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=clean_environment({}),
                    start_new_session=True,
                )
                try:
                    wall = wait_drained(database_url, len(inbox_ids), started)
                finally:
                    stop(process)
            drained = check_mirror(database_url, backlog, wall)
            reports = waiting_reports(client)
            completed = completed_order_ids(database_url)
    finally:
        delete_own_redis_keys(client)  # the queue, and the reports waiting an hour in its delay queue
        client.close()
    once = sum(1 for order_id in completed if reports.get(order_id) == 1)
    details = {
        "events": len(inbox_ids),
        "completed_orders": len(completed),
        "fulfilment_reports_once": once,
        "fulfilment_reports": sum(reports.values()),
    }
    return drained, details


def drain_with_run(tmp_path: Path, repetition: int) -> Drained:
    backlog = make_backlog(seed=100 + repetition)
    database_url = f"sqlite:///{tmp_path / f'run-{repetition}.db'}"
    seed_mirror(database_url, backlog)
    config = write_config(tmp_path / f"run-{repetition}.toml", database_url=database_url)
    log = tmp_path / f"run-{repetition}.log"
    with log.open("wb") as sink:
        started = time.monotonic()
        process = subprocess.Popen(
            [picqer_sync(), "--config", str(config), "run", "--port", str(free_port())],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=clean_environment({}),
            start_new_session=True,
        )
        try:
            wall = wait_drained(database_url, len(backlog.rows), started)
        finally:
            stop(process)
    return check_mirror(database_url, backlog, wall)


def summary(runs: list[Drained]) -> dict[str, Any]:
    return {
        "span_seconds": [round(run.span, 2) for run in runs],
        "wall_seconds_with_startup": [round(run.wall, 2) for run in runs],
    }


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(REPETITIONS * DRAIN_TIMEOUT + 60)
def test_events_applied_per_second_by_one_worker_process(tmp_path: Path) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    runs = []
    checks = []
    for repetition in range(REPETITIONS):
        drained, details = drain_with_worker(tmp_path, repetition)
        runs.append(drained)
        checks.append(details)
        print(
            f"\nbench events (worker, PostgreSQL + Redis): {details['events']} events in {drained.span:.2f} s"
            f" = {drained.rate:.0f}/s (wall {drained.wall:.1f} s with start-up); orders wrong:"
            f" {drained.wrong}; completed {details['completed_orders']}, reported once"
            f" {details['fulfilment_reports_once']} ({details['fulfilment_reports']} reports)"
        )
    record_figure(
        Figure(
            name="events (worker, PostgreSQL + Redis): applied/s per process",
            unit="events/s",
            samples=[run.rate for run in runs],
            bound=BOUND,
            bound_name="issue 12: 500 events/s per worker process",
        ),
        details={"orders": ORDERS, "threads": WORKER_THREADS, **summary(runs), "checks": checks},
    )
    for run, details in zip(runs, checks, strict=True):
        assert run.wrong == 0, "an order does not hold its newest status"
        assert run.errors == 0
        assert (
            details["fulfilment_reports"] == details["completed_orders"] == details["fulfilment_reports_once"]
        )


@pytest.mark.timeout(REPETITIONS * DRAIN_TIMEOUT + 60)
def test_events_applied_per_second_by_run(tmp_path: Path) -> None:
    runs = [drain_with_run(tmp_path, repetition) for repetition in range(REPETITIONS)]
    for run in runs:
        print(f"\nbench events (run, SQLite): {run.span:.2f} s = {run.rate:.0f}/s; orders wrong: {run.wrong}")
    record_figure(
        Figure(
            name="events (run, SQLite): applied/s",
            unit="events/s",
            samples=[run.rate for run in runs],
        ),
        details={"orders": ORDERS, "threads": WORKER_THREADS, **summary(runs)},
    )
    for run in runs:
        assert run.wrong == 0, "an order does not hold its newest status"
        assert run.errors == 0
