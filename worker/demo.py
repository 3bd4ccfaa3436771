"""``picqer-sync demo``: the whole pipeline on embedded defaults against the local sandbox.

Everything runs in this process on 127.0.0.1 ports the OS hands out: the sandbox (every simulator,
seeded), the receiver, the in-process queue with its worker threads, and a SQLite mirror in a
temporary directory. The steps are plain functions over a :class:`DemoStack`, so the end-to-end
tests drive the same building blocks (and may swap in PostgreSQL and a real Redis).

The demo's shops are fresh stores (``DEMO_SHOP``) rather than the seeded ``demo-shop`` ones, so the
summary shows exactly the orders the demo made and can say whether each one ended as expected.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import dramatiq
import httpx
import uvicorn
from sqlalchemy.engine import Engine

from worker.config import Settings, SourceSettings
from worker.db import orders
from worker.db.migrate import upgrade_database
from worker.db.models import SyncState
from worker.db.session import make_engine, session_scope
from worker.logging import get_logger
from worker.queue import broker as broker_module
from worker.queue.hooks import (
    PICQER_TARGET,
    HookResult,
    picqer_hook_address,
    sync_picqer_hooks,
    sync_shop_webhooks,
)
from worker.queue.inbox import InboxSweeper
from worker.queue.runtime import QueueRuntime, build_queue
from worker.queue.sync_handlers import SyncHandlers
from worker.scheduler import SchedulerTargets

DEMO_SHOP = "picqer-sync-demo"  # a store name no seed uses: the demo's orders are the only ones
SOURCE_SHOPIFY = "shopify"  # one source per platform, named after it: the summary reads plainly
SOURCE_WOOCOMMERCE = "woocommerce"
SOURCE_MAGENTO = "magento"
UNKNOWN_SKU = "NOT-IN-PICQER"  # no such product in the seeded Picqer: the order must fail, readably
DEFAULT_RATE_LIMIT = 500  # Picqer's normal limit, requests per minute
DEFAULT_TIMEOUT = 30.0  # seconds per wait; the whole demo takes a few seconds
DEFAULT_FULFILMENT_DELAY_MS = 500  # production waits 10 s (FULFILMENT_DELAY_MS); a demo need not
MIRROR_FILE = "picqer-sync-demo.db"
SERVER_START_SECONDS = 10.0
POLL_SECONDS = 0.05
WORKER_TIMEOUT_MS = 100

log = get_logger(__name__)

Progress = Callable[[str], None]
T = TypeVar("T")


class Expect(StrEnum):
    """What a demo order must end as."""

    SHIPPED = "shipped"  # in Picqer, processed, shipped, completed, fulfilment reported to the shop
    FAILED = "failed"  # recorded as failed with a readable reason, nothing in Picqer
    SKIPPED = "skipped"  # unpaid: not for the warehouse


class DemoError(Exception):
    """A step did not reach its outcome in time (or at all); the message says which and why."""


@dataclass(frozen=True)
class PlannedOrder:
    """An order the demo created in a shop simulator, and what it must end as."""

    source: str
    platform: str
    shop_order_id: str
    shop_order_number: str
    expect: Expect
    description: str


@dataclass
class OrderReport:
    """One order's outcome, read from the mirror and the simulators."""

    planned: PlannedOrder
    sync_state: str | None = None
    idorder: int | None = None
    picqer_status: str | None = None
    trackingcode: str | None = None
    reported: bool = False  # the shop simulator recorded a fulfilment with the tracking code
    reason: str | None = None  # why it failed or was skipped
    problem: str | None = None  # set when the order did not end as expected

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class DemoResult:
    orders: list[OrderReport] = field(default_factory=list)
    picqer_requests: int = 0
    rate_limited: int = 0  # Picqer answers 429
    seconds: float = 0.0
    mirror: str | None = None  # the mirror's database file, when kept
    error: str | None = None  # a step that did not finish (timeout, unreachable, ...)

    @property
    def pushed(self) -> int:
        return sum(1 for report in self.orders if report.idorder is not None)

    @property
    def failed(self) -> int:
        return sum(1 for report in self.orders if report.sync_state == SyncState.FAILED)

    @property
    def skipped(self) -> int:
        return sum(1 for report in self.orders if report.sync_state == SyncState.SKIPPED)

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.orders) and all(report.ok for report in self.orders)


# -- servers ---------------------------------------------------------------------------------------


def bind_local_socket() -> socket.socket:
    """A listening-ready socket on a free 127.0.0.1 port; kept open, so no one else takes the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@contextmanager
def serve(app: Any, sock: socket.socket, *, name: str) -> Iterator[str]:
    """Serve ``app`` with uvicorn on ``sock`` in a thread until the block ends; yields its URL."""
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    try:
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise DemoError(f"the {name} did not start on {socket_url(sock)}")
            time.sleep(0.01)
        yield socket_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=SERVER_START_SECONDS)
        sock.close()


# -- the stack -------------------------------------------------------------------------------------


@dataclass
class DemoStack:
    """The sandbox, the receiver, the queue and the mirror of one demo (or one e2e test)."""

    sandbox_url: str
    receiver_url: str
    settings: Settings
    engine: Engine
    runtime: QueueRuntime
    sandbox: Any  # the sandbox FastAPI app (``app.state.simulators`` for in-process peeking)
    http: httpx.Client  # to the sandbox's control endpoints (``/_sandbox/...``)
    database_path: Path | None = None

    @property
    def handlers(self) -> SyncHandlers:
        assert isinstance(self.runtime.handlers, SyncHandlers)
        return self.runtime.handlers

    def source(self, name: str) -> SourceSettings:
        return self.settings.source(name)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call a sandbox control endpoint (``/_sandbox/<path>``); its JSON, or ``DemoError``."""
        answer = self.http.request(method, f"/_sandbox/{path.lstrip('/')}", **kwargs)
        if answer.is_error:
            raise DemoError(
                f"sandbox {method} /_sandbox/{path} answered {answer.status_code}: {answer.text[:200]}"
            )
        return answer.json() if answer.content else None

    def targets(self) -> SchedulerTargets:
        """The scheduler's jobs bound to this stack, as ``run`` binds them (fired by hand here)."""
        from worker.cli.run_cmd import scheduler_targets

        return scheduler_targets(self.settings, self.runtime, self.engine)


def demo_settings(
    *,
    sandbox_url: str,
    receiver_url: str,
    database_url: str,
    picqer_secret: str,
    shopify_secret: str,
    woocommerce_secret: str,
) -> Settings:
    """Embedded defaults: Picqer and one source per platform in the sandbox, the receiver at its address.

    Built directly (no config file, no ``PICQER_SYNC_CONFIG``), so a machine's own config never
    points the demo anywhere but the sandbox. Keys are any non-empty value (the sandbox takes any).
    """
    return Settings(
        database_url=database_url,
        redis_url="",
        public_url=receiver_url,
        worker_threads=4,
        picqer={
            "url": f"{sandbox_url}/picqer/api/v1/",
            "api_key": "demo-api-key",
            "webhook_secret": picqer_secret,
            "requests_per_minute": DEFAULT_RATE_LIMIT,
            "timeout_seconds": 10.0,
        },
        sources=[
            {
                "name": SOURCE_SHOPIFY,
                "platform": "shopify",
                "url": f"{sandbox_url}/shopify/{DEMO_SHOP}",
                "access_token": "demo-access-token",
                "webhook_secret": shopify_secret,
            },
            {
                "name": SOURCE_WOOCOMMERCE,
                "platform": "woocommerce",
                "url": f"{sandbox_url}/woocommerce/{DEMO_SHOP}",
                "consumer_key": "ck_demo",
                "consumer_secret": "cs_demo",
                "webhook_secret": woocommerce_secret,
            },
            {
                "name": SOURCE_MAGENTO,
                "platform": "magento",
                "url": f"{sandbox_url}/magento/{DEMO_SHOP}",
                "access_token": "demo-access-token",
            },
        ],
    )


@contextmanager
def start_stack(
    workdir: Path,
    *,
    database_url: str | None = None,
    redis_client: Any = None,
    rate_limit: int | None = DEFAULT_RATE_LIMIT,
    fulfilment_delay_ms: int = DEFAULT_FULFILMENT_DELAY_MS,
    threads: int = 4,
) -> Iterator[DemoStack]:
    """Start everything ``run`` starts, against a fresh sandbox; stop it all when the block ends.

    ``database_url`` defaults to a fresh SQLite file in ``workdir`` (one left by an earlier demo is
    removed: the new sandbox hands out the same ids again); ``redis_client`` switches the queue, the
    request budget and the order locks to Redis (the e2e tests pass a real one).
    """
    from sandbox.app import create_sandbox_app
    from worker.receiver.app import create_receiver_app

    path = workdir / MIRROR_FILE
    if database_url is None:
        remove_mirror(path)
    url = database_url or f"sqlite:///{path}"
    with ExitStack() as stack:
        sandbox_app = create_sandbox_app(rate_limit=rate_limit, seed=True)
        sandbox_url = stack.enter_context(serve(sandbox_app, bind_local_socket(), name="sandbox"))
        receiver_socket = bind_local_socket()
        stack.callback(receiver_socket.close)  # closed by serve() too; this covers a failure before it
        settings = demo_settings(
            sandbox_url=sandbox_url,
            receiver_url=socket_url(receiver_socket),
            database_url=url,
            # fresh secrets per run, never printed: the simulators sign with them, the receiver checks
            picqer_secret=secrets.token_hex(16),
            shopify_secret=secrets.token_hex(16),
            woocommerce_secret=secrets.token_hex(16),
        )
        upgrade_database(url)
        engine = make_engine(url)
        stack.callback(engine.dispose)
        runtime = build_queue(
            settings, engine=engine, redis_client=redis_client, fulfilment_delay_ms=fulfilment_delay_ms
        )
        stack.callback(runtime.close)
        # a short idle wait: delayed messages (the fulfilment report) and stop() come round sooner
        worker = broker_module.start_worker(
            runtime.broker, threads=threads, worker_timeout_ms=WORKER_TIMEOUT_MS
        )
        stack.callback(_stop_worker, worker)
        if runtime.in_process:
            InboxSweeper(engine, runtime.enqueue_inbox).sweep(grace_seconds=0)  # as `run` does on start
        receiver = create_receiver_app(
            settings,
            engine=engine,
            enqueue=runtime.enqueue_inbox,
            queue_ping=runtime.ping,
            queue_depths=runtime.depths,
        )
        receiver_url = stack.enter_context(serve(receiver, receiver_socket, name="receiver"))
        http = stack.enter_context(httpx.Client(base_url=sandbox_url, timeout=10.0))
        yield DemoStack(
            sandbox_url=sandbox_url,
            receiver_url=receiver_url,
            settings=settings,
            engine=engine,
            runtime=runtime,
            sandbox=sandbox_app,
            http=http,
            database_path=None if database_url else path,
        )


def remove_mirror(path: Path) -> None:
    """The demo's SQLite file with its WAL, shared-memory and order-lock companions."""
    for companion in (path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        companion.unlink(missing_ok=True)
    locks = path.with_name(path.name + ".locks")
    if locks.is_dir():
        shutil.rmtree(locks, ignore_errors=True)


def _stop_worker(worker: dramatiq.Worker) -> None:
    # in-flight messages get a moment to finish; the inbox keeps whatever was not processed
    worker.stop(timeout=5_000)


# -- the steps -------------------------------------------------------------------------------------


def sync_hooks(stack: DemoStack) -> list[HookResult]:
    """``hooks sync``: the Picqer hooks and the shops' order webhooks, pointing at the receiver.

    Shopify signs with the store's own secret: the store is told ours first (WooCommerce takes the
    secret with each webhook ``hooks sync`` creates).
    """
    shopify = stack.source(SOURCE_SHOPIFY)
    assert shopify.webhook_secret is not None
    stack.control(
        "PUT",
        f"shopify/shops/{DEMO_SHOP}/settings",
        json={"webhook_secret": shopify.webhook_secret.get_secret_value()},
    )
    results = sync_picqer_hooks(
        stack.handlers.context().picqer,
        stack.engine,
        address=picqer_hook_address(stack.settings),
        secret=stack.settings.picqer.webhook_secret.get_secret_value(),
    )
    results += sync_shop_webhooks(stack.settings, stack.engine)
    failed = [result for result in results if result.action == "failed"]
    if failed:
        raise DemoError(
            "hooks sync failed: " + "; ".join(f"{r.target} {r.event}: {r.detail}" for r in failed)
        )
    return results


def create_shopify_order(stack: DemoStack, *, paid: bool, template: str = "ipod") -> PlannedOrder:
    body = {"template": template, "financial_status": "paid" if paid else "pending"}
    order = stack.control("POST", f"shopify/shops/{DEMO_SHOP}/orders", json=body)["order"]
    return PlannedOrder(
        source=SOURCE_SHOPIFY,
        platform="shopify",
        shop_order_id=str(order["id"]),
        shop_order_number=str(order["name"]),
        expect=Expect.SHIPPED if paid else Expect.SKIPPED,
        description="paid, by webhook" if paid else "unpaid (pending), by webhook",
    )


def create_woocommerce_order(stack: DemoStack, *, skus: tuple[str, ...], expect: Expect) -> PlannedOrder:
    body = {
        "status": "processing",  # WooCommerce's "paid, ship it"
        "line_items": [{"sku": sku, "name": sku, "quantity": 1, "price": 25.0} for sku in skus],
    }
    order = stack.control("POST", f"woocommerce/shops/{DEMO_SHOP}/orders", json=body)
    description = "paid, by webhook" if expect is Expect.SHIPPED else f"paid, SKU {UNKNOWN_SKU}, by webhook"
    return PlannedOrder(
        source=SOURCE_WOOCOMMERCE,
        platform="woocommerce",
        shop_order_id=str(order["id"]),
        shop_order_number=str(order["number"]),
        expect=expect,
        description=description,
    )


def create_magento_order(stack: DemoStack) -> PlannedOrder:
    body = {
        "paid": True,  # invoiced: state "processing"
        "items": [
            {"sku": "WS12-M-Orange", "name": "Radiant Tee-M-Orange", "price": 22, "qty": 2},
            {"sku": "24-WG084", "name": "Sprite Foam Yoga Brick", "price": 5, "qty": 1},
        ],
    }
    order = stack.control("POST", f"magento/shops/{DEMO_SHOP}/orders", json=body)
    return PlannedOrder(
        source=SOURCE_MAGENTO,
        platform="magento",
        shop_order_id=str(order["entity_id"]),
        shop_order_number=str(order["increment_id"]),
        expect=Expect.SHIPPED,
        description="paid, by poll",
    )


def create_demo_orders(stack: DemoStack) -> list[PlannedOrder]:
    """Three paid orders (one per platform), one that must fail, one unpaid; then poll Magento.

    Shopify and WooCommerce send their webhooks as each order is made; Magento sends none, so its
    poll job is fired now instead of waiting for the scheduler.
    """
    planned = [
        create_shopify_order(stack, paid=True),
        create_woocommerce_order(stack, skus=("IPOD2008RED", "240-LV08"), expect=Expect.SHIPPED),
        create_magento_order(stack),
        create_woocommerce_order(stack, skus=("IPOD2008BLACK", UNKNOWN_SKU), expect=Expect.FAILED),
        create_shopify_order(stack, paid=False),
    ]
    stack.targets().poll_source(SOURCE_MAGENTO)
    return planned


def wait_for(what: str, check: Callable[[], T | None], *, timeout: float = DEFAULT_TIMEOUT) -> T:
    """Call ``check`` until it returns something other than None; ``DemoError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL_SECONDS)


@dataclass(frozen=True)
class MirrorView:
    """What the mirror holds of one order (read in one session, detached from it)."""

    sync_state: str
    idorder: int | None
    picqer_status: str | None
    reason: str | None  # last_error, or the note of a skipped order
    trackingcode: str | None
    reported: bool  # fulfilment_reported_at is set


def mirror_row(stack: DemoStack, planned: PlannedOrder) -> MirrorView | None:
    """The order as the mirror has it now (with its first tracking code), or None."""
    with session_scope(stack.engine) as session:
        row = orders.get_order(session, source=planned.source, shop_order_id=planned.shop_order_id)
        if row is None or row.id is None:
            return None
        shipments = orders.list_shipments(session, order_id=row.id)
        codes = [item.trackingcode for item in shipments if item.trackingcode]
        return MirrorView(
            sync_state=row.sync_state,
            idorder=row.idorder,
            picqer_status=row.picqer_status,
            reason=row.last_error or row.note,
            trackingcode=codes[0] if codes else None,
            reported=row.fulfilment_reported_at is not None,
        )


def _pushed_state(planned: PlannedOrder, row: MirrorView | None) -> bool:
    if row is None:
        return False
    if planned.expect is Expect.SHIPPED:
        return row.sync_state == SyncState.SYNCED and row.idorder is not None
    if planned.expect is Expect.FAILED:
        return row.sync_state == SyncState.FAILED
    return row.sync_state == SyncState.SKIPPED


def wait_until_pushed(
    stack: DemoStack, planned: list[PlannedOrder], *, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """Every order in the state it must reach in Picqer's direction (synced, failed or skipped)."""
    _wait_for_all(
        "to reach Picqer (or be recorded as failed or skipped)",
        planned,
        lambda order: _pushed_state(order, mirror_row(stack, order)),
        timeout=timeout,
    )


def _wait_for_all(
    what: str, planned: list[PlannedOrder], done: Callable[[PlannedOrder], bool], *, timeout: float
) -> None:
    """Wait until ``done`` holds for every order; the timeout names the ones it never held for."""
    waiting = list(planned)

    def check() -> bool | None:
        waiting[:] = [order for order in waiting if not done(order)]
        return True if not waiting else None

    try:
        wait_for(f"the orders {what}", check, timeout=timeout)
    except DemoError as error:
        names = ", ".join(f"{order.source} {order.shop_order_number}" for order in waiting)
        raise DemoError(f"{error} (still waiting for {names})") from None


def ship_in_picqer(stack: DemoStack, planned: list[PlannedOrder]) -> dict[str, str]:
    """The warehouse ships every pushed order; returns ``{shop_order_id: trackingcode}``."""
    shipped: dict[str, str] = {}
    for order in planned:
        if order.expect is not Expect.SHIPPED:
            continue
        row = mirror_row(stack, order)
        if row is None or row.idorder is None:
            raise DemoError(f"{order.source} order {order.shop_order_number} is not in Picqer")
        answer = stack.control("POST", f"picqer/orders/{row.idorder}/ship", json={})
        shipped[order.shop_order_id] = str(answer["shipments"][0]["trackingcode"])
    return shipped


def shop_tracking_codes(stack: DemoStack, source: str) -> dict[str, set[str]]:
    """What each shop simulator recorded as fulfilled: ``{shop_order_id: {tracking codes}}``."""
    platform = stack.source(source).platform
    found: dict[str, set[str]] = {}
    if platform == "shopify":
        for item in stack.control("GET", f"shopify/shops/{DEMO_SHOP}/fulfillments")["fulfillments"]:
            found.setdefault(str(item["order_id"]), set()).update(item.get("tracking_numbers") or [])
    elif platform == "woocommerce":
        for item in stack.control("GET", f"woocommerce/shops/{DEMO_SHOP}/fulfilments"):
            # WooCommerce has no tracking field: the code travels in a note to the customer
            notes = " ".join(item.get("customer_notes") or [])
            found.setdefault(str(item["order_id"]), set()).add(notes)
    else:
        for shipment in stack.control("GET", f"magento/shops/{DEMO_SHOP}/shipments"):
            codes = {str(track["track_number"]) for track in shipment.get("tracks") or []}
            found.setdefault(str(shipment["order_id"]), set()).update(codes)
    return found


def shop_has_fulfilment(stack: DemoStack, planned: PlannedOrder, trackingcode: str) -> bool:
    recorded = shop_tracking_codes(stack, planned.source).get(planned.shop_order_id, set())
    return any(trackingcode in text for text in recorded)


def wait_until_fulfilled(
    stack: DemoStack,
    planned: list[PlannedOrder],
    shipped: dict[str, str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Completed in the mirror with the tracking code, and reported to the shop with it."""

    def done(order: PlannedOrder) -> bool:
        row = mirror_row(stack, order)
        code = shipped[order.shop_order_id]
        return (
            row is not None
            and row.picqer_status == "completed"
            and row.trackingcode == code
            and row.reported
            and shop_has_fulfilment(stack, order, code)
        )

    _wait_for_all(
        "to be completed by Picqer's hooks and fulfilled in their shops",
        [order for order in planned if order.shop_order_id in shipped],
        done,
        timeout=timeout,
    )


def report(stack: DemoStack, planned: PlannedOrder) -> OrderReport:
    """The order's outcome now, judged against what it must end as."""
    row = mirror_row(stack, planned)
    result = OrderReport(planned=planned)
    if row is None:
        result.problem = "not in the mirror"
        return result
    result.sync_state = row.sync_state
    result.idorder = row.idorder
    result.picqer_status = row.picqer_status
    result.trackingcode = row.trackingcode
    result.reason = row.reason if row.sync_state != SyncState.SYNCED else None
    if row.trackingcode:
        result.reported = row.reported and shop_has_fulfilment(stack, planned, row.trackingcode)
    result.problem = _problem(planned, result)
    return result


def _problem(planned: PlannedOrder, result: OrderReport) -> str | None:
    if planned.expect is Expect.SHIPPED:
        if result.idorder is None:
            return f"not in Picqer ({result.sync_state}: {result.reason or 'no reason'})"
        if result.picqer_status != "completed" or not result.trackingcode:
            return f"not completed with a tracking code (Picqer status {result.picqer_status})"
        if not result.reported:
            return "the shop has no fulfilment with the tracking code"
        return None
    if result.idorder is not None:
        return f"expected {planned.expect.value}, but Picqer has order {result.idorder}"
    if result.sync_state != planned.expect.value:
        return f"expected {planned.expect.value}, but the mirror says {result.sync_state}"
    if not result.reason:
        return f"{result.sync_state} without a reason"
    return None


def picqer_request_counts(stack: DemoStack) -> tuple[int, int]:
    """(API requests Picqer answered, of which 429s), from the sandbox's request log."""
    log = stack.control("GET", "picqer/requests")
    return len(log), sum(1 for entry in log if entry["status"] == 429)


# -- the demo --------------------------------------------------------------------------------------


def run_demo(
    *,
    keep: Path | None = None,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    fulfilment_delay_ms: int = DEFAULT_FULFILMENT_DELAY_MS,
) -> DemoResult:
    """The whole pipeline against the sandbox; the result says what happened to every order.

    Never raises for a step that did not finish: ``result.error`` says which, and the orders are
    reported as far as they got. ``keep`` keeps the mirror's SQLite file in that directory.
    """
    say = progress or (lambda _: None)
    started = time.monotonic()
    result = DemoResult()
    with ExitStack() as cleanup:
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            workdir = keep
        else:
            workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="picqer-sync-demo-")))
        planned: list[PlannedOrder] = []
        stack: DemoStack | None = None
        try:
            stack = cleanup.enter_context(start_stack(workdir, fulfilment_delay_ms=fulfilment_delay_ms))
            say(f"sandbox serving Picqer, Shopify, WooCommerce and Magento at {stack.sandbox_url}")
            threads = stack.settings.worker_threads
            say(f"receiver at {stack.receiver_url}, {threads} worker threads, in-process queue")
            hooks = sync_hooks(stack)
            picqer_hooks = sum(1 for hook in hooks if hook.target == PICQER_TARGET)
            shop_hooks = sum(1 for hook in hooks if hook.target != PICQER_TARGET and hook.remote_id)
            say(f"hooks sync: {picqer_hooks} Picqer hooks, {shop_hooks} shop webhooks point at the receiver")
            planned = create_demo_orders(stack)
            for order in planned:
                say(f"created {order.platform} order {order.shop_order_number}: {order.description}")
            say("fired Magento's poll (it sends no webhooks)")
            wait_until_pushed(stack, planned, timeout=timeout)
            say("Picqer has the paid orders, processed; the failure and the unpaid order are recorded")
            shipped = ship_in_picqer(stack, planned)
            say(f"shipped {len(shipped)} orders in the Picqer warehouse (sandbox)")
            wait_until_fulfilled(stack, planned, shipped, timeout=timeout)
            say("Picqer's hooks completed them in the mirror; each shop recorded its fulfilment")
        except DemoError as error:
            result.error = str(error)
        except httpx.HTTPError as error:
            result.error = f"the sandbox did not answer: {type(error).__name__}: {error}"
        except Exception as error:
            # a demo reports what broke next to how far the orders got, rather than a bare traceback
            log.exception("demo_failed")
            result.error = f"unexpected {type(error).__name__}: {str(error)[:300]}"
        if stack is not None:
            result.orders = [report(stack, order) for order in planned]
            with suppress(DemoError, httpx.HTTPError):  # the counts are a nicety; the orders are the verdict
                result.picqer_requests, result.rate_limited = picqer_request_counts(stack)
        if keep is not None and (keep / MIRROR_FILE).exists():
            result.mirror = str((keep / MIRROR_FILE).resolve())
    result.seconds = time.monotonic() - started
    return result
