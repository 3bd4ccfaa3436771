"""``run`` (all in one process), and ``web``, ``worker``, ``scheduler`` (one role per process).

These run for weeks, so a database or Redis that is down when they start is waited for, not an
error: ``run``, ``worker`` and ``scheduler`` start their work once it answers (``service_unavailable``
lines with a back-off of 1 s doubling to 30 s, then ``service_available``); ``web`` serves at once,
answering 503 and ``/readyz`` not ready until then, and logs the same lines.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Annotated, Any

import typer

from worker.app import App, build_app
from worker.cli.state import cli_state
from worker.cli.web_processes import receiver_process_count, serve_processes
from worker.config import Settings
from worker.infra.redis import ping_redis
from worker.infra.services import DATABASE, REDIS, ping_database, wait_for_service
from worker.infra.switching import shorten_thread_switching
from worker.logging import get_logger

log = get_logger(__name__)

# loopback unless told otherwise, for ``run`` and ``web`` alike; a container passes --host 0.0.0.0
DEFAULT_HOST = "127.0.0.1"

HostOption = Annotated[
    str, typer.Option(help="Interface the receiver listens on (0.0.0.0: all, as in a container).")
]
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


def _wait_for_services(
    settings: Settings, stop: threading.Event, *, migrate: bool = False, redis: bool = True
) -> bool:
    """Wait until the mirror database (migrated first when ``migrate``) and Redis answer.

    False when a signal came first (the process should then end quietly).
    """
    database_check: Callable[[], object] = ping_database(settings.database_url)
    if migrate:
        from worker.db.migrate import upgrade_database

        database_check = partial(upgrade_database, settings.database_url)
    if not wait_for_service(DATABASE, settings.database_url, database_check, stop=stop):
        return False
    if redis and settings.redis_url:
        return wait_for_service(REDIS, settings.redis_url, ping_redis(settings), stop=stop)
    return True


def _watch_services(settings: Settings) -> threading.Event:
    """Log the services that are down until they answer, in the background; set the event to stop."""
    stop = threading.Event()

    def watch() -> None:
        _wait_for_services(settings, stop)

    threading.Thread(target=watch, name="service-watch", daemon=True).start()
    return stop


def uvicorn_options() -> dict[str, Any]:
    """How the receiver is served (also the ingest bench's bare-HMAC baseline, so both share a stack)."""
    # log_config=None: uvicorn's loggers reach ours (one JSON line each), not a handler of its own;
    # no access log: each webhook has its own line (webhook_accepted, _rejected, ...) already;
    # "auto" picks uvloop and httptools (dependencies) where they install, asyncio and h11 elsewhere
    return {
        "log_level": "warning",
        "log_config": None,
        "access_log": False,
        "proxy_headers": True,
        "loop": "auto",
        "http": "auto",
    }


def _serve(app: App, host: str, port: int) -> None:
    import uvicorn

    shorten_thread_switching()  # the loop and the inbox writer's thread share the GIL
    uvicorn.run(app.receiver(), host=host, port=port, **uvicorn_options())


def run(
    ctx: typer.Context,
    host: HostOption = DEFAULT_HOST,
    port: PortOption = 8000,
    threads: ThreadsOption = None,
    migrate: Annotated[bool, typer.Option(help="Upgrade the mirror's schema before starting.")] = True,
) -> None:
    """Receiver, worker threads and scheduler in one process (one machine).

    Uses Redis for the queue when redis_url is set, else an in-process queue; on start, webhooks
    stored by an earlier process but never processed are enqueued again.
    """
    settings = cli_state(ctx).settings()
    with _stop_on_signals() as stop:
        if not _wait_for_services(settings, stop, migrate=migrate):
            return
    with build_app(settings) as app:
        # the receiver shares this process: a burst of webhooks is stored before more orders are mapped
        worker = app.start_worker(threads or settings.worker_threads, ingest_first=True)
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


def web(
    ctx: typer.Context,
    host: HostOption = DEFAULT_HOST,
    port: PortOption = 8000,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            min=0,
            help="Receiver processes sharing the port (default: receiver_processes from the config; "
            "0: one per two CPUs, at most 4).",
        ),
    ] = None,
) -> None:
    """The receiver only: webhooks, /healthz, /readyz, /metrics, /status (needs redis_url)."""
    state = cli_state(ctx)
    settings = state.settings()
    _require_redis(settings, "web")
    count = receiver_process_count(settings.receiver_processes if processes is None else processes)
    # serve at once: /healthz answers, webhooks get 503 (the sender retries) until the services do
    watching = _watch_services(settings)
    try:
        if count > 1:
            log.info("web_processes", processes=count)
            serve_processes(
                state.config_file, host=host, port=port, processes=count, options=uvicorn_options()
            )
        else:
            with build_app(settings) as app:
                _serve(app, host, port)
    finally:
        watching.set()


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
    with build_app(settings) as app, _stop_on_signals() as stop:
        if metrics_port:
            from prometheus_client import start_http_server

            start_http_server(metrics_port)  # a thread in this process, not a fork
        if _wait_for_services(settings, stop):
            shorten_thread_switching()  # worker threads hand the GIL on as soon as a reply is in
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
        if _wait_for_services(settings, stop):
            # an outage after the start is the scheduler's to wait out (worker/scheduler.py)
            app.scheduler().run(stop)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("web")(web)
    app.command("worker")(worker)
    app.command("scheduler")(scheduler)
