"""``run`` (all in one process), and ``web``, ``worker``, ``scheduler`` (one role per process)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from worker.cli.state import cli_state
from worker.config import Settings
from worker.db.session import make_engine
from worker.logging import get_logger
from worker.queue.hooks import check_picqer_hooks, picqer_hook_address, sync_shop_webhooks
from worker.queue.inbox import InboxSweeper
from worker.queue.runtime import QueueRuntime, build_queue
from worker.queue.sync_handlers import SyncHandlers
from worker.scheduler import LocalJobLock, RedisJobLock, Scheduler, SchedulerTargets, build_jobs
from worker.sync.fulfilment import orders_to_fulfil

log = get_logger(__name__)

HostOption = Annotated[str, typer.Option(help="Interface the receiver listens on.")]
PortOption = Annotated[int, typer.Option(help="Port the receiver listens on.")]
ThreadsOption = Annotated[
    int | None,
    typer.Option("--threads", min=1, help="Worker threads (default: worker_threads from the config)."),
]


def scheduler_targets(settings: Settings, runtime: QueueRuntime, engine: Engine) -> SchedulerTargets:
    """Bind the scheduler's jobs to this process's actors and mirror."""
    actors = runtime.actors
    sweeper = InboxSweeper(engine, runtime.enqueue_inbox)

    def sweep_fulfilment() -> None:
        for task in orders_to_fulfil(engine):
            actors.report_fulfilment.send(task.order_id)

    def check_hooks() -> None:
        if isinstance(runtime.handlers, SyncHandlers):
            check_picqer_hooks(
                runtime.handlers.context().picqer, engine, address=picqer_hook_address(settings)
            )
        # shops drop webhooks too (WooCommerce disables one after failures, Shopify deletes it):
        # ensuring the ones `hooks sync` set up is idempotent and reactivates what was disabled
        sync_shop_webhooks(settings, engine, only_registered=True)

    return SchedulerTargets(
        poll_source=actors.poll_source.send,
        reconcile=lambda: actors.enqueue_reconcile(None),
        sweep_inbox=sweeper.sweep,
        sweep_fulfilment=sweep_fulfilment,
        check_hooks=check_hooks,
    )


def make_scheduler(settings: Settings, runtime: QueueRuntime, engine: Engine) -> Scheduler:
    lock = RedisJobLock(runtime.redis_client) if runtime.redis_client is not None else LocalJobLock()
    return Scheduler(build_jobs(settings, scheduler_targets(settings, runtime, engine)), lock=lock)


def _require_redis(settings: Settings, command: str) -> None:
    if not settings.redis_url:
        typer.echo(
            f"error: `{command}` runs one role of a split deployment and needs redis_url (REDIS_URL) so the "
            "processes share a queue; use `picqer-sync run` for everything in one process.",
            err=True,
        )
        raise typer.Exit(code=2)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT (the previous handlers are restored afterwards)."""
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(settings: Settings, runtime: QueueRuntime, engine: Engine, host: str, port: int) -> None:
    import uvicorn

    app = runtime.receiver_app(settings, engine)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True)


def run(
    ctx: typer.Context,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    threads: ThreadsOption = None,
    migrate: Annotated[bool, typer.Option(help="Upgrade the mirror's schema before starting.")] = True,
) -> None:
    """Receiver, worker threads and scheduler in one process (one machine).

    Uses Redis for the queue when redis_url is set, else an in-process queue; on start, webhooks
    stored by an earlier process but never processed are enqueued again.
    """
    settings = cli_state(ctx).settings()
    if migrate:
        from worker.db.migrate import upgrade_database

        upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    runtime = build_queue(settings, engine=engine)
    worker = runtime.start_worker(threads or settings.worker_threads)
    if runtime.in_process:
        # the in-process queue of the last process is gone: everything unprocessed is ours now
        InboxSweeper(engine, runtime.enqueue_inbox).sweep(grace_seconds=0)
    stop = threading.Event()
    scheduler = threading.Thread(
        target=make_scheduler(settings, runtime, engine).run, args=(stop,), name="scheduler", daemon=True
    )
    scheduler.start()
    log.info("run_started", host=host, port=port, queue="in-process" if runtime.in_process else "redis")
    try:
        _serve(settings, runtime, engine, host, port)  # returns on SIGINT/SIGTERM (uvicorn handles them)
    finally:
        stop.set()
        scheduler.join(timeout=10)
        worker.stop()
        runtime.close()
        engine.dispose()
        log.info("run_stopped")


def web(ctx: typer.Context, host: HostOption = "0.0.0.0", port: PortOption = 8000) -> None:  # noqa: S104
    """The receiver only: webhooks, /healthz, /readyz, /metrics, /status (needs redis_url)."""
    settings = cli_state(ctx).settings()
    _require_redis(settings, "web")
    engine = make_engine(settings.database_url)
    runtime = build_queue(settings, engine=engine)
    try:
        _serve(settings, runtime, engine, host, port)
    finally:
        runtime.close()
        engine.dispose()


def worker(
    ctx: typer.Context,
    threads: ThreadsOption = None,
    metrics_port: Annotated[
        int, typer.Option(help="Serve this process's Prometheus metrics on this port (0: off).")
    ] = 0,
) -> None:
    """Worker threads only: process the queue until SIGTERM/SIGINT (needs redis_url)."""
    settings = cli_state(ctx).settings()
    _require_redis(settings, "worker")
    engine = make_engine(settings.database_url)
    runtime = build_queue(settings, engine=engine)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)  # a thread in this process, not a fork
    with _stop_on_signals() as stop:
        running = runtime.start_worker(threads or settings.worker_threads)
        log.info("worker_started", threads=threads or settings.worker_threads)
        stop.wait()
        log.info("worker_stopping")
        running.stop()
    runtime.close()
    engine.dispose()


def scheduler(ctx: typer.Context) -> None:
    """The scheduler only: polls, reconcile, inbox sweep, hook health (needs redis_url)."""
    settings = cli_state(ctx).settings()
    _require_redis(settings, "scheduler")
    engine = make_engine(settings.database_url)
    runtime = build_queue(settings, engine=engine)
    with _stop_on_signals() as stop:
        make_scheduler(settings, runtime, engine).run(stop)
    runtime.close()
    engine.dispose()


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("web")(web)
    app.command("worker")(worker)
    app.command("scheduler")(scheduler)
