"""``run`` (all in one process), and ``web``, ``worker``, ``scheduler`` (one role per process)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from worker.app import App, build_app
from worker.cli.state import cli_state
from worker.config import Settings
from worker.logging import get_logger

log = get_logger(__name__)

HostOption = Annotated[str, typer.Option(help="Interface the receiver listens on.")]
PortOption = Annotated[int, typer.Option(help="Port the receiver listens on.")]
ThreadsOption = Annotated[
    int | None,
    typer.Option("--threads", min=1, help="Worker threads (default: worker_threads from the config)."),
]


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


def _serve(app: App, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app.receiver(), host=host, port=port, log_level="warning", proxy_headers=True)


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
    with build_app(settings) as app:
        worker = app.start_worker(threads or settings.worker_threads)
        if app.in_process:
            app.sweep_inbox()  # the in-process queue of the last process is gone
        stop = threading.Event()
        scheduler = threading.Thread(target=app.scheduler().run, args=(stop,), name="scheduler", daemon=True)
        scheduler.start()
        log.info("run_started", host=host, port=port, queue="in-process" if app.in_process else "redis")
        try:
            _serve(app, host, port)  # returns on SIGINT/SIGTERM (uvicorn handles them)
        finally:
            stop.set()
            scheduler.join(timeout=10)
            worker.stop()
            log.info("run_stopped")


def web(ctx: typer.Context, host: HostOption = "0.0.0.0", port: PortOption = 8000) -> None:  # noqa: S104
    """The receiver only: webhooks, /healthz, /readyz, /metrics, /status (needs redis_url)."""
    settings = cli_state(ctx).settings()
    _require_redis(settings, "web")
    with build_app(settings) as app:
        _serve(app, host, port)


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
    with build_app(settings) as app:
        if metrics_port:
            from prometheus_client import start_http_server

            start_http_server(metrics_port)  # a thread in this process, not a fork
        with _stop_on_signals() as stop:
            running = app.start_worker(threads or settings.worker_threads)
            log.info("worker_started", threads=threads or settings.worker_threads)
            stop.wait()
            log.info("worker_stopping")
            running.stop()


def scheduler(ctx: typer.Context) -> None:
    """The scheduler only: polls, reconcile, inbox sweep, hook health (needs redis_url)."""
    settings = cli_state(ctx).settings()
    _require_redis(settings, "scheduler")
    with build_app(settings) as app, _stop_on_signals() as stop:
        app.scheduler().run(stop)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("web")(web)
    app.command("worker")(worker)
    app.command("scheduler")(scheduler)
