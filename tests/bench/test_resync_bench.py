"""Benchmark: ``picqer-sync resync`` over 10k, 30k and 100k Shopify orders, from outside.

The sandbox runs as its own process (this module, ``python -m tests.bench.test_resync_bench serve
PORT ORDERS``), seeded in-process with ORDERS orders one second apart; ``picqer-sync resync SOURCE
--since ... --dry-run`` runs as a subprocess. Per run: its peak RSS (``VmHWM`` of that one child,
read from ``/proc`` while it runs), its wall time, and the sandbox's CPU time over the run
(``/proc/<pid>/stat``). The bounds: peak RSS at most 150 MiB at every size (flat in N), and a
listing page costs the sandbox about as much at order 100,000 as at order 100 (ratio at most 1.5).
Then a real resync of 10k orders into a Picqer without a rate limit, for orders/s.

The page cost is measured for the Shopify, WooCommerce and Magento simulators alike, each over a
100k-order store, with the query its adapter sends (Shopify's cursor page, WooCommerce's
``modified_after`` keyset, Magento's ``searchCriteria`` keyset). The real resync also records the
sandbox's share of the wall time (its CPU seconds per second): well below 1, the simulator is not
what the resync waits for.

The budget of this file in ``make bench`` is about 6 minutes on 2 shared cores: the dry run runs at
10k (three times), 30k and 100k (once each), the page cost three times per platform, and the real
resync takes 3k orders once (the client pushes some tens of orders a second: 10k would take minutes).
``RESYNC_BENCH_FULL=1`` makes the real resync 10k orders.
"""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.bench.results import REPETITIONS, Figure, record_figure
from worker.config import SourceSettings

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]
SHOP = "bench-shop"
SOURCE = "bench"
# ``make bench`` has about 6 minutes for this file on 2 shared cores: the dry run at 10k (three runs),
# 30k and 100k (once each), the page cost on 100k-order stores, the real resync on 3k orders (10k with
# RESYNC_BENCH_FULL=1).
FULL = os.environ.get("RESYNC_BENCH_FULL") == "1"
SIZES = (10_000, 30_000, 100_000)
REPEATED_SIZES = (10_000,)  # three runs each; the others once
PAGE_STORE = 100_000
PAGE_PLATFORMS = ("shopify", "woocommerce", "magento")
RSS_BOUND_MIB = 150.0
PAGE_COST_BOUND = 1.5
# the sandbox's CPU seconds per wall second: 1.0 is a sandbox busy all the time (what the resync would
# wait for); a dry run keeps it about half busy (it renders every order), a real resync far less
SANDBOX_SHARE_BOUND = 0.75
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


def serve_sandbox(port: int, orders: int, others: list[str]) -> None:
    import uvicorn

    from sandbox.app import create_sandbox_app

    app = create_sandbox_app(rate_limit=None, seed=True)
    # the listing is measured, not Shopify's cost budget (100 points/s would make 10k orders take
    # many minutes of waiting): a bucket no resync empties
    app.state.simulators["shopify"].configure(SHOP, cost_maximum=1e12, cost_restore=1e12)
    seed_orders(app, orders)
    for platform in others:  # the same number of orders in WooCommerce's and Magento's SHOP
        app.state.simulators[platform].seed_orders(SHOP, orders)
    # the seeded store lives as long as the process: out of the collector's reach, so its full
    # collections do not walk 100,000 orders again and again (sandbox CPU that grew with the store)
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


@dataclass
class Sandbox:
    url: str
    process: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


@contextmanager
def sandbox(orders: int, *, others: tuple[str, ...] = ()) -> Iterator[Sandbox]:
    """A sandbox process with ``orders`` Shopify orders (and as many in each of ``others``)."""
    from tests.support.liveserver import free_port

    port = free_port()
    command = ["serve", str(port), str(orders), ",".join(others)]
    process = subprocess.Popen([sys.executable, "-m", "tests.bench.test_resync_bench", *command], cwd=ROOT)
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
PAGE_SIZE = 10


def page_seconds(box: Sandbox, platform: str, position: int) -> float:
    """The median time of a 10-order page that starts at order ``position`` of the store, asked as
    ``platform``'s adapter asks for its next page (the store's orders are one second apart)."""
    fetch = {"shopify": _shopify_page, "woocommerce": _woocommerce_page, "magento": _magento_page}[platform]
    with fetch(box, position) as page:
        page()  # warm: the connection, the first answer
        samples = []
        for _ in range(PAGE_SAMPLES):
            started = time.perf_counter()
            page()
            samples.append(time.perf_counter() - started)
    return statistics.median(samples)


@contextmanager
def _shopify_page(box: Sandbox, position: int) -> Iterator[Callable[[], None]]:
    """After a cursor found by searching for the update time of order ``position``."""
    graphql = f"{box.url}/shopify/{SHOP}/admin/api/2026-07/graphql.json"
    with httpx.Client(headers={"X-Shopify-Access-Token": "token"}, timeout=60) as client:

        def orders(variables: dict[str, Any]) -> dict[str, Any]:
            answer = client.post(graphql, json={"query": PAGE_QUERY, "variables": variables}).json()
            assert "errors" not in answer, answer
            return dict(answer["data"]["orders"])

        first = datetime.fromisoformat(str(orders({"first": 1})["nodes"][0]["updatedAt"]))
        moment = (first + timedelta(seconds=position)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        cursor = orders({"first": 1, "query": f"updated_at:>='{moment}'"})["pageInfo"]["endCursor"]

        def page() -> None:
            assert len(orders({"first": PAGE_SIZE, "after": cursor})["nodes"]) == PAGE_SIZE

        yield page


def _credentials(box: Sandbox, platform: str) -> dict[str, str]:
    return dict(httpx.get(f"{box.url}/_sandbox/credentials").json()[platform][SHOP])


@contextmanager
def _woocommerce_page(box: Sandbox, position: int) -> Iterator[Callable[[], None]]:
    """``modified_after`` the order before ``position``, page 1, as the adapter's keyset asks."""
    from adapters.woocommerce.source import WooCommerceSource, format_woo_date, parse_woo_date

    keys = _credentials(box, "woocommerce")
    settings = SourceSettings(
        name="bench-woo", platform="woocommerce", url=f"{box.url}/woocommerce/{SHOP}", **keys
    )
    with WooCommerceSource(settings) as source:
        params: dict[str, Any] = {**source.listing_params(None), "per_page": 1}
        first = parse_woo_date(source.send("GET", "orders", params=params).json()[0]["date_modified_gmt"])
        assert first is not None
        after = format_woo_date(first + timedelta(seconds=position - 1))
        params = {**params, "per_page": PAGE_SIZE, "modified_after": after}

        def page() -> None:
            assert len(source.send("GET", "orders", params=params).json()) == PAGE_SIZE

        yield page


@contextmanager
def _magento_page(box: Sandbox, position: int) -> Iterator[Callable[[], None]]:
    """Page 1 of the orders after order ``position - 1``, as the adapter's keyset groups ask."""
    from adapters.magento.source import KEYSET_SORT, MagentoSource, search_params

    settings = SourceSettings(
        name="bench-magento",
        platform="magento",
        url=f"{box.url}/magento/{SHOP}",
        **_credentials(box, "magento"),
    )
    with MagentoSource(settings) as source:
        params = search_params([], sort=KEYSET_SORT, page_size=1, current_page=1)
        first = source.send("GET", "orders", params=params).json()["items"][0]
        stamp = datetime.strptime(first["updated_at"], "%Y-%m-%d %H:%M:%S") + timedelta(seconds=position - 1)
        moment = stamp.strftime("%Y-%m-%d %H:%M:%S")
        groups = [
            [("updated_at", moment, "gteq")],
            [("updated_at", moment, "gt"), ("entity_id", str(first["entity_id"] + position - 1), "gt")],
        ]
        params = search_params(groups, sort=KEYSET_SORT, page_size=PAGE_SIZE, current_page=1)

        def page() -> None:
            assert len(source.send("GET", "orders", params=params).json()["items"]) == PAGE_SIZE

        yield page


# -- the bench ----------------------------------------------------------------------------------------


@pytest.mark.timeout(1200)  # 10k three times, 30k and 100k: about 3 minutes on 2 quiet cores
def test_resync_dry_run_memory_is_flat_and_pages_cost_the_same(tmp_path: Path) -> None:
    runs: dict[int, list[Run]] = {}
    for size in SIZES:
        with sandbox(size) as box:
            for index in range(REPETITIONS if size in REPEATED_SIZES else 1):
                config = write_config(tmp_path, box.url, f"dry-{size}-{index}")
                run = run_resync(box, config, "--since", SINCE, "--dry-run")
                assert run.exit_code == 0, run.stdout
                runs.setdefault(size, []).append(run)
                print(
                    f"\nresync --dry-run {size} orders: {run.seconds:.1f} s"
                    f" ({size / run.seconds:.0f} orders/s), peak RSS {run.peak_rss_mib:.0f} MiB,"
                    f" sandbox CPU {run.sandbox_cpu_seconds:.1f} s"
                )
    for size, done in runs.items():
        note = {"runs": len(done), "orders": size}
        name = f"resync --dry-run, Shopify {size // 1000}k orders"
        figures = (
            Figure(
                name=f"{name}: peak RSS",
                unit="MiB",
                samples=[run.peak_rss_mib for run in done],
                higher_is_better=False,
                bound=RSS_BOUND_MIB,
                bound_name="flat in N",
            ),
            Figure(
                name=f"{name}: wall time",
                unit="s",
                samples=[run.seconds for run in done],
                higher_is_better=False,
            ),
            Figure(
                name=f"{name}: orders/s",
                unit="orders/s",
                samples=[size / run.seconds for run in done],  # start-up included; the issue sets no goal
            ),
            Figure(
                name=f"{name}: sandbox CPU",
                unit="s",
                samples=[run.sandbox_cpu_seconds for run in done],
                higher_is_better=False,
            ),
            Figure(
                name=f"{name}: sandbox CPU share of wall",
                unit="x",
                samples=[run.sandbox_cpu_seconds / run.seconds for run in done],
                higher_is_better=False,
                bound=SANDBOX_SHARE_BOUND,
                bound_name="the simulator is not the bottleneck",
            ),
        )
        for figure in figures:
            record_figure(figure, details=note)


@pytest.mark.timeout(600)  # seeding three 100k-order stores is most of it
def test_a_listing_page_costs_the_same_deep_in_the_store() -> None:
    with sandbox(PAGE_STORE, others=("woocommerce", "magento")) as box:
        for platform in PAGE_PLATFORMS:
            early_ms, late_ms, ratios = [], [], []
            for _ in range(REPETITIONS):
                early = page_seconds(box, platform, 100)
                late = page_seconds(box, platform, PAGE_STORE - 100)
                early_ms.append(round(early * 1000, 2))
                late_ms.append(round(late * 1000, 2))
                ratios.append(late / early)
            print(
                f"\n{platform} page of 10 at order 100: {early_ms} ms;"
                f" at order {PAGE_STORE - 100}: {late_ms} ms"
            )
            record_figure(
                Figure(
                    name=f"{PLATFORM_NAMES[platform]} simulator: page cost at order 100k / at order 100",
                    unit="x",
                    samples=ratios,
                    higher_is_better=False,
                    bound=PAGE_COST_BOUND,
                    bound_name="the same cost deep in the listing",
                ),
                details={"store_orders": PAGE_STORE, "at_100_ms": early_ms, "at_99900_ms": late_ms},
            )


PLATFORM_NAMES = {"shopify": "Shopify", "woocommerce": "WooCommerce", "magento": "Magento"}


@pytest.mark.timeout(1200)
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
                f" ({cpu_share[-1]:.2f} of the wall time)"
            )
    details = {"orders": REAL_ORDERS, "sandbox_cpu_share_of_wall": [round(share, 2) for share in cpu_share]}
    record_figure(
        Figure(name="resync Shopify orders into Picqer (unlimited)", unit="orders/s", samples=rates),
        details=details,
    )
    record_figure(
        Figure(
            name="resync Shopify orders into Picqer (unlimited): sandbox CPU share of wall",
            unit="x",
            samples=cpu_share,
            higher_is_better=False,
            bound=SANDBOX_SHARE_BOUND,
            bound_name="the simulator is not the bottleneck",
        ),
        details=details,
    )


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    others = [name for name in (sys.argv[4] if len(sys.argv) > 4 else "").split(",") if name]
    serve_sandbox(int(sys.argv[2]), int(sys.argv[3]), others)
