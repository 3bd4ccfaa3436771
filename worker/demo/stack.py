"""Everything ``run`` starts, in this process: the seeded sandbox, the receiver, the queue, the mirror."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
import httpx
from sqlalchemy.engine import Engine

from worker.app import App, build_app
from worker.config import Settings, SourceSettings
from worker.db.migrate import upgrade_database
from worker.demo.errors import DemoError
from worker.demo.servers import bind_local_socket, serve, socket_url
from worker.demo.settings import (
    DEFAULT_PICQER_TIMEOUT,
    DEFAULT_RATE_LIMIT,
    DEMO_SHOP,
    Credentials,
    demo_settings,
)
from worker.queue.actors import ACCOUNT_RETRY_MS
from worker.scheduler import SchedulerTargets

MIRROR_FILE = "picqer-sync-demo.db"
# production waits `fulfilment_delay_seconds` (10 s) for the tracking code to land; a demo need not
DEFAULT_FULFILMENT_DELAY_MS = 500


@dataclass
class DemoStack:
    """The sandbox, the receiver, the queue and the mirror of one demo (or one e2e test)."""

    sandbox_url: str
    receiver_url: str
    app: App  # everything `run` builds: engine, queue, Picqer client, sync context
    sandbox: Any  # the sandbox FastAPI app (``app.state.simulators`` for in-process peeking)
    http: httpx.Client  # to the sandbox's control endpoints (``/_sandbox/...``)

    @property
    def settings(self) -> Settings:
        return self.app.settings

    @property
    def engine(self) -> Engine:
        return self.app.engine

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
        return self.app.scheduler_targets()


@contextmanager
def start_stack(
    workdir: Path,
    *,
    database_url: str | None = None,
    redis_client: Any = None,
    rate_limit: int | None = DEFAULT_RATE_LIMIT,
    fulfilment_delay_ms: int = DEFAULT_FULFILMENT_DELAY_MS,
    threads: int = 4,
    picqer_timeout: float = DEFAULT_PICQER_TIMEOUT,
    account_retry_ms: int | None = None,
) -> Iterator[DemoStack]:
    """Start everything ``run`` starts, against a fresh sandbox; stop it all when the block ends.

    ``database_url`` defaults to a fresh SQLite file in ``workdir`` (one left by an earlier demo is
    removed: the new sandbox hands out the same ids again); ``redis_client`` switches the queue, the
    request budget and the order locks to Redis (the e2e tests pass a real one);
    ``picqer_timeout`` is the Picqer client's timeout in seconds; ``account_retry_ms`` how long
    work that met a refused key waits (production: a minute).
    """
    from sandbox.app import create_sandbox_app

    path = workdir / MIRROR_FILE
    if database_url is None:
        remove_mirror(path)
    url = database_url or f"sqlite:///{path}"
    with ExitStack() as stack:
        sandbox_app = create_sandbox_app(rate_limit=rate_limit, seed=True)
        sandbox_url = stack.enter_context(serve(sandbox_app, bind_local_socket(), name="sandbox"))
        receiver_socket = bind_local_socket()
        stack.callback(receiver_socket.close)  # closed by serve() too; this covers a failure before it
        http = stack.enter_context(httpx.Client(base_url=sandbox_url, timeout=10.0))
        settings = demo_settings(
            sandbox_url=sandbox_url,
            receiver_url=socket_url(receiver_socket),
            database_url=url,
            # fresh secrets per run, never printed: the simulators sign with them, the receiver checks
            picqer_secret=secrets.token_hex(16),
            woocommerce_secret=secrets.token_hex(16),
            credentials=issued_credentials(http, DEMO_SHOP),
            picqer_timeout=picqer_timeout,
        )
        upgrade_database(url)
        app = stack.enter_context(
            build_app(
                settings,
                redis=redis_client,
                fulfilment_delay_ms=fulfilment_delay_ms,
                account_retry_ms=ACCOUNT_RETRY_MS if account_retry_ms is None else account_retry_ms,
            )
        )
        # a short idle wait: delayed messages (the fulfilment report) and stop() come round sooner
        worker = app.start_worker(threads)  # waits as the `worker` process does (woken on enqueue on Redis)
        stack.callback(_stop_worker, worker)
        if app.in_process:
            app.sweep_inbox()  # as `run` does on start
        receiver_url = stack.enter_context(serve(app.receiver(), receiver_socket, name="receiver"))
        yield DemoStack(
            sandbox_url=sandbox_url, receiver_url=receiver_url, app=app, sandbox=sandbox_app, http=http
        )


def issued_credentials(http: httpx.Client, shop: str) -> Credentials:
    """The sandbox's credentials for ``shop`` on every platform, as a person would read them."""
    answer = http.get("/_sandbox/credentials", params={"shop": shop})
    if answer.is_error:
        raise DemoError(f"the sandbox did not hand out credentials: {answer.status_code}")
    issued: dict[str, dict[str, dict[str, str]]] = answer.json()
    return {platform: shops[shop] for platform, shops in issued.items() if shop in shops}


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
