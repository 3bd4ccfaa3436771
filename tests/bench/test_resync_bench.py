"""Benchmark: ``picqer-sync resync`` over 10k, 30k and 100k Shopify orders, from outside.

The sandbox runs as its own process (this module, ``python -m tests.bench.test_resync_bench serve
PORT ORDERS``), seeded in-process with ORDERS orders one second apart; ``picqer-sync resync SOURCE
--since ... --dry-run`` runs as a subprocess. Per run: its peak RSS (``VmHWM`` of that one child,
read from ``/proc`` while it runs), its wall time, and the sandbox's CPU time over the run
(``/proc/<pid>/stat``). The bounds: peak RSS at most 150 MiB at every size (flat in N), and a
listing page costs the sandbox about as much at order 100,000 as at order 100 (ratio at most 1.5).
Then a real resync of 10k orders into a Picqer without a rate limit, for orders/s.

The budget of this file in ``make bench`` is about 6 minutes on 2 shared cores, which a dry run over
30k and 100k orders alone exceeds (the client maps and compares about 200-250 orders/s): by default
the dry run runs at 10k (three times), the page cost is measured on a 100k-order store (three times),
and the real resync takes 3k orders once. ``RESYNC_BENCH_FULL=1`` adds the dry run at 30k and 100k
(once each) and makes the real resync 10k orders.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.bench.results import REPETITIONS, Figure, record_figure

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]
SHOP = "bench-shop"
SOURCE = "bench"
# ``make bench`` has about 6 minutes for this file on 2 shared cores: by default the dry run is measured
# at 10k (three runs), the page cost on a 100k-order store, the real resync on 3k orders. With
# RESYNC_BENCH_FULL=1 the dry run also runs at 30k and 100k (once each: 100k alone takes minutes)
# and the real resync takes 10k orders.
FULL = os.environ.get("RESYNC_BENCH_FULL") == "1"
SIZES = (10_000, 30_000, 100_000) if FULL else (10_000,)
REPEATED_SIZES = (10_000,)  # three runs each; the others once
PAGE_STORE = 100_000
RSS_BOUND_MIB = 150.0
PAGE_COST_BOUND = 1.5
REAL_ORDERS = 10_000 if FULL else 3_000
REAL_RUNS = 1
PAGE_SAMPLES = 30
SINCE = "2000-01-01"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the sandbox process ----------------------------------------------------------------------------


def seed_orders(app: Any, count: int) -> None:
    """``count`` paid orders in ``SHOP``, one second apart, ending now (no webhooks: no subscriptions)."""
    simulator = app.state.simulators["shopify"]
    seed = getattr(simulator, "seed_orders", None)
    if seed is not None:
        seed(SHOP, count, template_name="ipod", spacing_seconds=1.0)
        return
    from sandbox.shopify import store  # the simulator before it could seed in bulk
    from sandbox.shopify.templates import template

    spec = {**template("ipod"), "financial_status": "paid"}
    start = simulator.clock.now() - timedelta(seconds=count)
    with simulator.state.lock:
        state = simulator.shop(SHOP)
        for index in range(count):
            store.create_order(state, spec, start + timedelta(seconds=index))


def serve_sandbox(port: int, orders: int) -> None:
    import uvicorn

    from sandbox.app import create_sandbox_app

    app = create_sandbox_app(rate_limit=None, seed=True)
    # the listing is measured, not Shopify's cost budget (100 points/s would make 10k orders take
    # many minutes of waiting): a bucket no resync empties
    app.state.simulators["shopify"].configure(SHOP, cost_maximum=1e12, cost_restore=1e12)
    seed_orders(app, orders)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


@dataclass
class Sandbox:
    url: str
    process: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


@contextmanager
def sandbox(orders: int) -> Iterator[Sandbox]:
    from tests.support.liveserver import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.test_resync_bench", "serve", str(port), str(orders)], cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                httpx.get(f"{url}/_sandbox/clock", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.2)
        yield Sandbox(url, process)
    finally:
        process.terminate()
        process.wait(30)


# -- the command ------------------------------------------------------------------------------------


def write_config(tmp_path: Path, url: str, name: str) -> Path:
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f"""
database_url = "sqlite:///{tmp_path / name}.db"
redis_url = ""
log_format = "json"
log_level = "warning"

[picqer]
url = "{url}/picqer/api/v1/"
api_key = "bench-key"
requests_per_minute = 1000000  # Picqer unlimited: the sandbox has no rate limit either

[[sources]]
name = "{SOURCE}"
platform = "shopify"
url = "{url}/shopify/{SHOP}"
access_token = "token"
"""
    )
    return config


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mib: float
    sandbox_cpu_seconds: float
    exit_code: int
    stdout: str


def _high_water_kib(pid: int) -> int:
    """``VmHWM`` of a running process (its peak resident set since its exec), 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run_resync(box: Sandbox, config: Path, *options: str) -> Run:
    """One ``picqer-sync resync`` as a child process: its own peak RSS (``VmHWM``), wall and sandbox CPU."""
    command = [str(ROOT / ".venv/bin/picqer-sync"), "--config", str(config), "resync", SOURCE, *options]
    out_path = config.with_suffix(".out")
    cpu_before = box.cpu_seconds()
    started = time.monotonic()
    peak_kib = 0
    with out_path.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT)
        # the child's own high-water mark, read while it runs: wait4's ru_maxrss would also count
        # the pages it shared with this (large) pytest process between the fork and the exec
        while process.poll() is None:
            peak_kib = max(peak_kib, _high_water_kib(process.pid))
            time.sleep(0.05)
    seconds = time.monotonic() - started
    return Run(
        seconds=seconds,
        peak_rss_mib=peak_kib / 1024,
        sandbox_cpu_seconds=box.cpu_seconds() - cpu_before,
        exit_code=process.returncode,
        stdout=out_path.read_text(errors="replace")[-2000:],
    )


# -- what a page costs --------------------------------------------------------------------------------

PAGE_QUERY = """
query Page($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id name updatedAt }
  }
}"""


def page_seconds(box: Sandbox, position: int, orders: int) -> float:
    del orders  # the position is enough: the store's orders are one second apart
    """The median time of a 10-order page that starts at order ``position`` (by a cursor from a search)."""
    graphql = f"{box.url}/shopify/{SHOP}/admin/api/2026-07/graphql.json"
    headers = {"X-Shopify-Access-Token": "token"}
    with httpx.Client(headers=headers, timeout=60) as client:
        # orders are one second apart: order k was updated k seconds after the first
        first = datetime.fromisoformat(_updated_of_first(client, graphql))
        moment = (first + timedelta(seconds=position)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        search = {"first": 1, "query": f"updated_at:>='{moment}'"}
        cursor = _page(client, graphql, search)["pageInfo"]["endCursor"]
        samples = []
        for _ in range(PAGE_SAMPLES):
            started = time.perf_counter()
            page = _page(client, graphql, {"first": 10, "after": cursor})
            samples.append(time.perf_counter() - started)
            assert len(page["nodes"]) == 10
    return statistics.median(samples)


def _updated_of_first(client: httpx.Client, graphql: str) -> str:
    nodes = _page(client, graphql, {"first": 1})["nodes"]
    return str(nodes[0]["updatedAt"])


def _page(client: httpx.Client, graphql: str, variables: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(graphql, json={"query": PAGE_QUERY, "variables": variables}).json()
    assert "errors" not in answer, answer
    return dict(answer["data"]["orders"])


# -- the bench ----------------------------------------------------------------------------------------


def test_resync_dry_run_memory_is_flat_and_pages_cost_the_same(tmp_path: Path) -> None:
    rss: dict[int, list[float]] = {}
    wall: dict[int, list[float]] = {}
    cpu: dict[int, list[float]] = {}
    for size in SIZES:
        runs = REPETITIONS if size in REPEATED_SIZES else 1
        with sandbox(size) as box:
            for index in range(runs):
                config = write_config(tmp_path, box.url, f"dry-{size}-{index}")
                run = run_resync(box, config, "--since", SINCE, "--dry-run")
                assert run.exit_code == 0, run.stdout
                rss.setdefault(size, []).append(run.peak_rss_mib)
                wall.setdefault(size, []).append(run.seconds)
                cpu.setdefault(size, []).append(run.sandbox_cpu_seconds)
                print(
                    f"\nresync --dry-run {size} orders: {run.seconds:.1f} s,"
                    f" peak RSS {run.peak_rss_mib:.0f} MiB, sandbox CPU {run.sandbox_cpu_seconds:.1f} s"
                )
    for size in SIZES:
        note = {"runs": len(rss[size]), "orders": size}
        record_figure(
            Figure(
                name=f"resync --dry-run, Shopify {size // 1000}k orders: peak RSS",
                unit="MiB",
                samples=rss[size],
                higher_is_better=False,
                bound=RSS_BOUND_MIB,
                bound_name="flat in N",
            ),
            details=note,
        )
        record_figure(
            Figure(
                name=f"resync --dry-run, Shopify {size // 1000}k orders: wall time",
                unit="s",
                samples=wall[size],
                higher_is_better=False,
            ),
            details=note,
        )
        record_figure(
            Figure(
                name=f"resync --dry-run, Shopify {size // 1000}k orders: sandbox CPU",
                unit="s",
                samples=cpu[size],
                higher_is_better=False,
            ),
            details=note,
        )


def test_a_listing_page_costs_the_same_deep_in_the_store() -> None:
    early_ms, late_ms, ratios = [], [], []
    with sandbox(PAGE_STORE) as box:
        for _ in range(REPETITIONS):
            early = page_seconds(box, 100, PAGE_STORE)
            late = page_seconds(box, PAGE_STORE - 100, PAGE_STORE)
            early_ms.append(round(early * 1000, 2))
            late_ms.append(round(late * 1000, 2))
            ratios.append(late / early)
    print(f"\nShopify page of 10 at order 100: {early_ms} ms; at order {PAGE_STORE - 100}: {late_ms} ms")
    record_figure(
        Figure(
            name="Shopify simulator: page cost at order 100k / at order 100",
            unit="x",
            samples=ratios,
            higher_is_better=False,
            bound=PAGE_COST_BOUND,
            bound_name="the same cost deep in the listing",
        ),
        details={"store_orders": PAGE_STORE, "at_100_ms": early_ms, "at_99900_ms": late_ms},
    )


def test_real_resync_orders_per_second(tmp_path: Path) -> None:
    rates, cpu_share = [], []
    with sandbox(REAL_ORDERS) as box:
        for index in range(REAL_RUNS):
            httpx.post(f"{box.url}/_sandbox/picqer/reset").raise_for_status()
            httpx.post(f"{box.url}/_sandbox/picqer/seed").raise_for_status()  # the products again
            config = write_config(tmp_path, box.url, f"real-{index}")
            run = run_resync(box, config, "--since", SINCE)
            assert run.exit_code == 0, run.stdout
            rates.append(REAL_ORDERS / run.seconds)
            cpu_share.append(run.sandbox_cpu_seconds / run.seconds)
            print(
                f"\nresync {REAL_ORDERS} orders into Picqer: {run.seconds:.1f} s ({rates[-1]:.0f} orders/s),"
                f" peak RSS {run.peak_rss_mib:.0f} MiB, sandbox CPU {run.sandbox_cpu_seconds:.1f} s"
            )
    record_figure(
        Figure(name="resync Shopify orders into Picqer (unlimited)", unit="orders/s", samples=rates),
        details={
            "orders": REAL_ORDERS,
            "sandbox_cpu_share_of_wall": [round(share, 2) for share in cpu_share],
        },
    )


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    serve_sandbox(int(sys.argv[2]), int(sys.argv[3]))
