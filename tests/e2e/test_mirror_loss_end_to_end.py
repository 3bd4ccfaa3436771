"""Exactly once when the mirror is lost: 50 orders, a dropped mirror, every webhook replayed, a resync.

The issue, as a user meets it:

    push 50 orders, drop the mirror, replay every webhook and run a resync: 0 new Picqer orders,
    and the mirror again knows all 50

One live sandbox serves the whole test, so Picqer keeps its orders while the mirror is lost. A first
deployment (config file, ``db upgrade``, receiver on a real socket, worker threads, ``hooks sync``)
pushes 25 paid Shopify and 25 paid WooCommerce orders that arrive by webhook. It is stopped and its
mirror dropped (a new SQLite file; on PostgreSQL the schema is dropped and made again, and this run's
Redis keys are deleted). A second deployment starts on the empty mirror at the same address, the
hooks are synced again, every webhook the shops sent is delivered again (Shopify's simulator
redelivers from its outbox; WooCommerce's has no redelivery, so its logged deliveries are posted
again byte for byte, as the sender would retry them), the inbox is drained and ``picqer-sync
resync`` is run for each source. Picqer must hold the same 50 orders, none new and none cancelled,
and the new mirror must link every shop order to the idorder the first one had.

Runs on SQLite with the in-process queue, and on PostgreSQL with a real Redis (skipped locally
without them, required under CI=true); see ``docs/ARCHITECTURE.md``, "Exactly once when the mirror
does not know the order".
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select
from typer.testing import CliRunner

from sandbox.app import create_sandbox_app
from tests.conftest import REDIS_URL, delete_own_redis_keys
from tests.support.liveserver import free_port, serve
from worker.app import App, build_app
from worker.cli.main import app as cli_app
from worker.config import Settings, load_settings
from worker.db.migrate import upgrade_database
from worker.db.models import InboxEvent, Order, SyncState
from worker.db.session import make_engine, session_scope
from worker.sync.hooks import HookResult, picqer_hook_address, sync_picqer_hooks, sync_shop_webhooks

SHOP = "mirror-loss"  # the store's name in every shop simulator (the sandbox is not seeded)
SHOPIFY = "shopify"  # source names, one per platform
WOOCOMMERCE = "woocommerce"
SHOPIFY_ORDERS = 25
WOOCOMMERCE_ORDERS = 25
TOTAL_ORDERS = SHOPIFY_ORDERS + WOOCOMMERCE_ORDERS
# a product this test adds to Picqer, beside the SKUs of Picqer's own seed (its catalogue only)
EXTRA_PRODUCT = {"productcode": "MIRROR-LOSS-MUG", "name": "Mirror loss mug", "price": 9.5, "stock": 500}
WOOCOMMERCE_SKUS = (("IPOD2008RED", "MIRROR-LOSS-MUG"), ("IPOD2008GREEN",), ("MIRROR-LOSS-MUG",))
PICQER_API_KEY = "sandbox-key"
PICQER_WEBHOOK_SECRET = "mirror-loss-picqer-secret"
WOOCOMMERCE_WEBHOOK_SECRET = "mirror-loss-woo-secret"
WORKER_THREADS = 4
WORKER_TIMEOUT_MS = 100  # a short idle wait: stop() comes round sooner
TIMEOUT = 30.0  # seconds per wait; a healthy run needs a few
POLL_SECONDS = 0.05
ACCEPTED = {200, 202}  # the receiver's answers to a stored webhook (and to WooCommerce's ping)

T = TypeVar("T")


# -- bounded waits ------------------------------------------------------------------------------


def wait_for(what: str, check: Callable[[], T | None], *, timeout: float = TIMEOUT) -> T:
    """Call ``check`` until it returns something other than None; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL_SECONDS)


# -- the sandbox --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sandbox:
    url: str
    http: httpx.Client  # base_url = the sandbox

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """A control endpoint (``/_sandbox/<path>``); its JSON."""
        answer = self.http.request(method, f"/_sandbox/{path.lstrip('/')}", **kwargs)
        assert not answer.is_error, (
            f"sandbox {method} /_sandbox/{path}: {answer.status_code} {answer.text[:300]}"
        )
        return answer.json() if answer.content else None

    def picqer_orders(self) -> list[dict[str, Any]]:
        """Every order Picqer's API lists (``GET /orders``, all pages of 100), as a client reads them."""
        found: list[dict[str, Any]] = []
        while True:
            answer = self.http.get(
                "/picqer/api/v1/orders", params={"offset": len(found)}, auth=(PICQER_API_KEY, "")
            )
            answer.raise_for_status()
            page = answer.json()
            found.extend(page)
            if len(page) < 100:
                return found

    def picqer_creates(self) -> int:
        """How many ``POST /orders`` (creates) Picqer has answered so far."""
        return sum(
            1
            for entry in self.control("GET", "picqer/requests", params={"method": "POST"})
            if entry["path"] == "/orders"
        )

    def shopify_deliveries(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "shopify/webhooks")["deliveries"])

    def woocommerce_deliveries(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "woocommerce/webhooks", params={"shop": SHOP}))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """One live sandbox for the whole test: Picqer's orders outlive the first deployment's mirror."""
    with (
        serve(create_sandbox_app(rate_limit=None, seed=False)) as url,
        httpx.Client(base_url=url, timeout=10.0) as http,
    ):
        box = Sandbox(url, http)
        box.control("POST", "picqer/seed")  # warehouses, VAT groups, tags, the seed's products
        box.control("POST", "picqer/products", json=EXTRA_PRODUCT)
        yield box


# -- the mirror (and the Redis of a deployment) -------------------------------------------------


@dataclass
class Backend:
    """Where a deployment keeps its mirror and queue; ``drop`` loses the first deployment's."""

    name: str
    first_database_url: str
    second_database_url: str
    redis_url: str  # "" = the in-process queue, local budget and file locks
    drop: Callable[[], None]


def _drop_sqlite(path: Path) -> Callable[[], None]:
    def drop() -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        locks = path.with_name(path.name + ".locks")
        if locks.is_dir():
            shutil.rmtree(locks)

    return drop


def _drop_postgres(database_url: str, redis_client: Any) -> Callable[[], None]:
    schema = database_url.rsplit("search_path%3D", 1)[1]

    def drop() -> None:
        engine = make_engine(database_url)
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        finally:
            engine.dispose()
        delete_own_redis_keys(redis_client)  # the queue, the budget, the locks, the shop state

    return drop


@pytest.fixture(
    params=["sqlite", pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis])]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        first, second = tmp_path / "mirror-1.db", tmp_path / "mirror-2.db"
        return Backend("sqlite", f"sqlite:///{first}", f"sqlite:///{second}", "", _drop_sqlite(first))
    database_url = str(request.getfixturevalue("postgres_url"))
    redis_client = request.getfixturevalue("real_redis")  # this run's keys deleted before and after
    return Backend(
        "postgres+redis", database_url, database_url, REDIS_URL, _drop_postgres(database_url, redis_client)
    )


# -- a deployment -------------------------------------------------------------------------------


def write_config(
    path: Path, *, sandbox: Sandbox, database_url: str, redis_url: str, receiver_url: str
) -> Path:
    """The config file a person writes for this store, with the credentials the sandbox issued."""
    issued = sandbox.control("GET", "credentials", params={"shop": SHOP})
    shopify, woocommerce = issued["shopify"][SHOP], issued["woocommerce"][SHOP]
    path.write_text(
        f"""
database_url = "{database_url}"
redis_url = "{redis_url}"
public_url = "{receiver_url}"
log_format = "json"
log_level = "warning"
worker_threads = {WORKER_THREADS}

[picqer]
url = "{sandbox.url}/picqer/api/v1/"
api_key = "{PICQER_API_KEY}"
webhook_secret = "{PICQER_WEBHOOK_SECRET}"

[[sources]]
name = "{SHOPIFY}"
platform = "shopify"
url = "{sandbox.url}/shopify/{SHOP}"
client_id = "{shopify["client_id"]}"
client_secret = "{shopify["client_secret"]}"

[[sources]]
name = "{WOOCOMMERCE}"
platform = "woocommerce"
url = "{sandbox.url}/woocommerce/{SHOP}"
consumer_key = "{woocommerce["consumer_key"]}"
consumer_secret = "{woocommerce["consumer_secret"]}"
webhook_secret = "{WOOCOMMERCE_WEBHOOK_SECRET}"
"""
    )
    return path


@contextmanager
def deployment(config: Path, *, port: int) -> Iterator[App]:
    """``db upgrade``, then what ``run`` starts: worker threads and the receiver on ``port``."""
    settings: Settings = load_settings(config)
    upgrade_database(settings.database_url)
    with build_app(settings) as app:
        worker = app.start_worker(WORKER_THREADS, worker_timeout_ms=WORKER_TIMEOUT_MS)
        try:
            if app.in_process:
                app.sweep_inbox()  # as `run` does on start
            with serve(app.receiver(), port=port):
                yield app
        finally:
            worker.stop(timeout=5_000)  # after the receiver: nothing new arrives while it stops


def sync_hooks(app: App) -> list[HookResult]:
    """``hooks sync``: Picqer's hooks and the shops' order webhooks, pointing at the receiver."""
    results = sync_picqer_hooks(
        app.picqer,
        app.engine,
        address=picqer_hook_address(app.settings),
        secret=app.settings.picqer.webhook_secret.get_secret_value(),
    )
    results += sync_shop_webhooks(app.settings, app.engine)
    failed = [f"{r.target} {r.event}: {r.detail}" for r in results if r.action == "failed"]
    assert not failed, f"hooks sync failed: {failed}"
    return results


# -- the shops ----------------------------------------------------------------------------------


def create_orders(sandbox: Sandbox) -> None:
    """25 paid Shopify and 25 paid (processing) WooCommerce orders; their webhooks follow."""
    for _ in range(SHOPIFY_ORDERS):
        sandbox.control(
            "POST", f"shopify/shops/{SHOP}/orders", json={"template": "ipod", "financial_status": "paid"}
        )
    for number in range(WOOCOMMERCE_ORDERS):
        skus = WOOCOMMERCE_SKUS[number % len(WOOCOMMERCE_SKUS)]
        lines = [{"sku": sku, "name": sku, "quantity": 1 + number % 2, "price": 25.0} for sku in skus]
        sandbox.control(
            "POST", f"woocommerce/shops/{SHOP}/orders", json={"status": "processing", "line_items": lines}
        )


def replay_shop_webhooks(sandbox: Sandbox, *, shopify: int, woocommerce: list[dict[str, Any]]) -> list[str]:
    """Deliver again the first ``shopify`` Shopify deliveries and the given WooCommerce ones.

    Shopify's simulator redelivers from its outbox (same headers, same webhook id); WooCommerce's
    cannot, so each logged delivery is posted again with its exact headers and bytes. Returns
    what did not reach the receiver (empty when every replay was accepted).
    """
    problems = []
    for index in range(shopify):
        again = sandbox.control("POST", f"shopify/webhooks/{index}/redeliver")
        if again["status"] not in ACCEPTED:
            problems.append(
                f"shopify delivery {index} ({again['topic']}): {again['status']} {again['error']}"
            )
    with httpx.Client(timeout=10.0) as http:
        for index, delivery in enumerate(woocommerce):
            answer = http.post(
                delivery["url"], content=delivery["body"].encode("utf-8"), headers=delivery["headers"]
            )
            if answer.status_code not in ACCEPTED:
                what = f"woocommerce delivery {index} ({delivery['topic']})"
                problems.append(f"{what}: {answer.status_code} {answer.text[:200]}")
    return problems


# -- the mirror, read back ----------------------------------------------------------------------


@dataclass(frozen=True)
class MirrorOrder:
    source: str
    shop_order_id: str
    reference: str
    idorder: int | None
    sync_state: str
    reason: str | None


def mirror_orders(app: App) -> list[MirrorOrder]:
    with session_scope(app.engine) as session:
        return [
            MirrorOrder(
                row.source,
                row.shop_order_id,
                row.reference,
                row.idorder,
                row.sync_state,
                row.last_error or row.note,
            )
            for row in session.exec(select(Order)).all()
        ]


def links(orders: list[MirrorOrder]) -> dict[tuple[str, str], int | None]:
    """(source, shop order id) -> Picqer idorder."""
    return {(order.source, order.shop_order_id): order.idorder for order in orders}


def unprocessed_inbox(app: App) -> list[str]:
    with session_scope(app.engine) as session:
        rows = session.exec(select(InboxEvent).where(InboxEvent.processed_at.is_(None))).all()  # type: ignore[union-attr]
        return [f"{row.source} {row.topic} (attempts {row.attempts}, error {row.error})" for row in rows]


def inbox_size(app: App) -> int:
    with session_scope(app.engine) as session:
        return len(session.exec(select(InboxEvent.id)).all())


def wait_until_all_synced(app: App) -> list[MirrorOrder]:
    """Every one of the 50 shop orders synced (in Picqer and processed) in this deployment's mirror."""
    latest: list[MirrorOrder] = []

    def check() -> list[MirrorOrder] | None:
        latest[:] = mirror_orders(app)
        synced = [o for o in latest if o.sync_state == SyncState.SYNCED and o.idorder is not None]
        return latest if len(synced) == TOTAL_ORDERS else None

    try:
        return wait_for(f"all {TOTAL_ORDERS} orders to be synced", check)
    except pytest.fail.Exception:
        others = sorted(
            f"{o.source} {o.reference}: {o.sync_state} {o.reason or ''}"
            for o in latest
            if o.sync_state != SyncState.SYNCED
        )
        pytest.fail(f"{len(latest)} of {TOTAL_ORDERS} orders in the mirror; not synced: {others}")


def wait_until_inbox_drained(app: App) -> None:
    left: list[str] = []

    def check() -> bool | None:
        left[:] = unprocessed_inbox(app)
        return True if not left else None

    try:
        wait_for("the inbox to be drained", check)
    except pytest.fail.Exception:
        pytest.fail(f"the inbox still holds {len(left)} unprocessed webhook(s): {left[:10]}")


def wait_until_picqer_processed(sandbox: Sandbox) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        orders = sandbox.picqer_orders()
        processing = [o for o in orders if o["status"] == "processing"]
        return orders if len(processing) >= TOTAL_ORDERS else None

    return wait_for(f"{TOTAL_ORDERS} processing orders in Picqer", check)


def resync(config: Path, source: str) -> dict[str, Any]:
    """``picqer-sync --config FILE resync SOURCE --json``, as a user runs it."""
    result = CliRunner().invoke(cli_app, ["--config", str(config), "resync", source, "--json"])
    assert result.exit_code == 0, f"resync {source} exited {result.exit_code}: {result.output[-2000:]}"
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def picqer_references(orders: list[dict[str, Any]]) -> dict[int, str]:
    """idorder -> reference."""
    return {int(o["idorder"]): str(o["reference"]) for o in orders}


# -- the test -----------------------------------------------------------------------------------


def test_a_lost_mirror_replayed_and_resynced_makes_no_new_picqer_orders(
    sandbox: Sandbox, backend: Backend, tmp_path: Path
) -> None:
    port = free_port()
    receiver_url = f"http://127.0.0.1:{port}"

    # 1. the first deployment pushes 50 paid orders that arrive by webhook
    first_config = write_config(
        tmp_path / "first.toml",
        sandbox=sandbox,
        database_url=backend.first_database_url,
        redis_url=backend.redis_url,
        receiver_url=receiver_url,
    )
    with deployment(first_config, port=port) as first:
        sync_hooks(first)
        create_orders(sandbox)
        first_mirror = wait_until_all_synced(first)
        picqer_before = wait_until_picqer_processed(sandbox)
        wait_until_inbox_drained(first)  # Picqer's status hooks too
    assert len(picqer_before) == TOTAL_ORDERS, "the first deployment must create each order once"
    first_links = links(first_mirror)
    assert sorted(idorder for idorder in first_links.values() if idorder) == sorted(
        o["idorder"] for o in picqer_before
    )
    creates_before = sandbox.picqer_creates()
    shopify_sent = sandbox.shopify_deliveries()
    woocommerce_sent = sandbox.woocommerce_deliveries()
    assert len(shopify_sent) >= SHOPIFY_ORDERS
    assert len([d for d in woocommerce_sent if d["topic"] != "ping"]) >= WOOCOMMERCE_ORDERS

    # 2. the mirror is lost
    backend.drop()

    # 3. a second deployment on an empty mirror, at the same address; every webhook again; resync
    second_config = write_config(
        tmp_path / "second.toml",
        sandbox=sandbox,
        database_url=backend.second_database_url,
        redis_url=backend.redis_url,
        receiver_url=receiver_url,
    )
    with deployment(second_config, port=port) as second:
        assert mirror_orders(second) == [], "the second deployment must start on an empty mirror"
        sync_hooks(second)
        problems = replay_shop_webhooks(sandbox, shopify=len(shopify_sent), woocommerce=woocommerce_sent)
        assert problems == [], f"replayed webhooks the receiver did not accept: {problems}"
        wait_until_inbox_drained(second)
        replayed_orders = len(shopify_sent) + len([d for d in woocommerce_sent if d["topic"] != "ping"])
        assert inbox_size(second) >= replayed_orders  # every replayed order webhook was stored
        reports = {source: resync(second_config, source) for source in (SHOPIFY, WOOCOMMERCE)}
        wait_until_inbox_drained(second)
        second_mirror = mirror_orders(second)

    # 4. Picqer: the same 50 orders, 0 new, none cancelled
    picqer_after = sandbox.picqer_orders()
    new_creates = sandbox.picqer_creates() - creates_before
    assert new_creates == 0, f"the second deployment created {new_creates} Picqer order(s)"
    assert picqer_references(picqer_after) == picqer_references(picqer_before)
    cancelled = [o["reference"] for o in picqer_after if o["status"] == "cancelled"]
    assert cancelled == [], f"Picqer orders cancelled: {cancelled}"
    assert len(picqer_after) == TOTAL_ORDERS

    # 5. the new mirror knows all 50, linked to the same idorders, none failed
    failed = [
        f"{o.source} {o.reference}: {o.reason}" for o in second_mirror if o.sync_state == SyncState.FAILED
    ]
    assert failed == [], f"orders marked failed: {failed}"
    assert len(second_mirror) == TOTAL_ORDERS
    assert links(second_mirror) == first_links  # the same shop orders, linked to the same idorders
    assert all(o.sync_state == SyncState.SYNCED for o in second_mirror), sorted(
        f"{o.source} {o.reference}: {o.sync_state} {o.reason}" for o in second_mirror
    )
    for source, report in reports.items():
        assert "failed" not in report["counts"], f"resync {source}: {report['counts']}"
