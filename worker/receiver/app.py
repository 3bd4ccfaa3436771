"""The receiver: a FastAPI app for health, metrics and the status page, which hands the two
webhook endpoints to :mod:`worker.receiver.endpoints` (plain ASGI, the hot path) before routing.

Built by :func:`create_receiver_app` from its collaborators (engine, enqueue, queue probes, the
webhook spool), never at import time, so tests and the single-process ``run`` wire it to what
they have. Webhooks are stored by one :class:`~worker.receiver.writer.InboxWriter` thread in
group commits. Every wait on the database is bounded: webhooks by ``receiver_deadline_seconds``
and the :class:`~worker.receiver.gate.ThreadGate` (fast 503s with ``Retry-After`` under a flood),
``/readyz`` by ``readiness_timeout_seconds``, ``/status`` and ``/metrics`` by the deadline too.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from functools import partial
from typing import Literal

import anyio
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.engine import Engine

from adapters.platform import ShopPlatform
from adapters.registry import get_platform
from worker import metrics
from worker.config import Settings
from worker.db.session import DatabaseTimeouts
from worker.logging import get_logger
from worker.receiver.batch import EnqueueMany, store_batch
from worker.receiver.body import Receive
from worker.receiver.endpoints import RETRY_AFTER_SECONDS, Scope, Send, WebhookEndpoints, webhook_target
from worker.receiver.gate import ThreadGate, bounded
from worker.receiver.status import build_status_report, render_status_html
from worker.receiver.writer import InboxWriter
from worker.sync.health import list_broken
from worker.sync.inbox import Enqueue
from worker.sync.spool import DRAIN_INTERVAL_SECONDS, SpoolDrainer, WebhookSpool

log = get_logger(__name__)

QueueDepths = Callable[[], Mapping[str, int]]

__all__ = ["bounded", "create_receiver_app", "receiver_timeouts"]


def receiver_timeouts(settings: Settings) -> DatabaseTimeouts:
    """The receiver engine's bounds on the database (settings ``database_*``/``receiver_*``)."""
    return DatabaseTimeouts(
        connect_seconds=settings.database_connect_timeout_seconds,
        pool_seconds=settings.database_pool_timeout_seconds,
        statement_seconds=settings.receiver_statement_timeout_seconds,
    )


def _status_unavailable(reason: str) -> HTMLResponse:
    # the page's own words, no value from the request or the database in it
    page = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>picqer-sync status</title>'
        "</head><body><h1>picqer-sync status</h1>"
        f'<p role="alert"><strong>Database not answering:</strong> {reason}. The status page is built '
        "from the mirror; webhooks are still answered (kept in the spool when Redis is used). "
        "Reload in a few seconds.</p></body></html>\n"
    )
    return HTMLResponse(page, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _database_ready(engine: Engine) -> None:
    # the inbox table, not just a connection: a database that was never migrated is not ready
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1 FROM webhook_inbox WHERE 1 = 0"))


def _admin_token_given(request: Request, expected: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    given = value.strip() if scheme.lower() == "bearer" else request.query_params.get("token", "")
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


class ReceiverApp(FastAPI):
    """FastAPI, with the webhook endpoints answered before its routing (see module docstring)."""

    webhook_endpoints: WebhookEndpoints | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        endpoints = self.webhook_endpoints
        target = webhook_target(scope) if endpoints is not None else None
        if target is None or endpoints is None:
            await super().__call__(scope, receive, send)  # type: ignore[arg-type]
            return
        await endpoints(target, scope, receive, send)


def create_receiver_app(
    settings: Settings,
    *,
    engine: Engine,
    enqueue: Enqueue,
    queue_ping: Callable[[], None] | None = None,
    queue_depths: QueueDepths | None = None,
    platforms: Callable[[str], ShopPlatform] = get_platform,
    spool: WebhookSpool | None = None,
    gate: ThreadGate | None = None,
    drain_interval: float = DRAIN_INTERVAL_SECONDS,
    enqueue_many: EnqueueMany | None = None,
    writer_engine: Engine | None = None,
) -> FastAPI:
    """The receiver app.

    ``enqueue(inbox_source, inbox_id)`` hands a stored event to the queue; ``queue_ping`` raises when
    the queue is unreachable (``/readyz``); ``queue_depths`` feeds ``/metrics`` and ``/status``.
    With a ``spool`` (split deployments, Redis), a webhook whose inbox write fails because the
    database is away is kept there and answered 202; the app's lifespan runs a thread that moves
    spooled webhooks into the inbox every ``drain_interval`` seconds. ``gate`` bounds the webhooks
    waiting for the inbox writer and the threads on the database (default:
    :data:`worker.receiver.gate.MAX_IN_FLIGHT`); beyond it, and a short wait, a webhook is a 503.
    ``enqueue_many``, when given, enqueues each commit's new events in one call (one Redis round
    trip) instead of one ``enqueue`` each. ``writer_engine``, when given, is the inbox writer's own
    (one connection, reused from group to group without a ping: see ``worker.receiver.batch``).
    """

    writer = InboxWriter(
        partial(
            store_batch,
            engine=writer_engine or engine,
            enqueue=enqueue,
            spool=spool,
            enqueue_many=enqueue_many,
        )
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        drainer = None
        if spool is not None:
            drainer = SpoolDrainer(spool, engine=engine, enqueue=enqueue, interval=drain_interval)
            drainer.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(writer.stop)
            if drainer is not None:
                await anyio.to_thread.run_sync(drainer.stop)

    app = ReceiverApp(
        title="picqer-sync receiver", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.settings = settings
    metrics.set_queue_depth_source(queue_depths)
    deadline = settings.receiver_deadline_seconds
    app.webhook_endpoints = WebhookEndpoints(
        settings, engine=engine, writer=writer, gate=gate or ThreadGate(), platforms=platforms, spool=spool
    )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(scope: Literal["all", "receiver"] = "all") -> Response:
        """Ready: the database (or the spool in its place) and the queue answer, and (scope "all")
        no account or source refuses our key. Scope "receiver" asks only whether webhooks can be
        taken: a load balancer routing by it keeps sending the shops' webhooks to a receiver whose
        Picqer key is refused, which stores them until the key is fixed (by the default scope it
        would take the receiver out, and the shops' calls would fail); broken accounts are still
        named in the answer."""
        checks: dict[str, str] = {"database": "", "queue": ""}  # this order in the answer
        # the whole probe within readiness_timeout_seconds: the database and the queue side by side
        timeout = settings.readiness_timeout_seconds
        started = anyio.current_time()

        async def check(name: str, func: Callable[[], object] | None) -> None:
            try:
                if func is not None:
                    await bounded(timeout, func)
                checks[name] = "ok"
            except TimeoutError:
                checks[name] = f"unavailable (no answer within {timeout:g} s)"
            except Exception as error:
                checks[name] = f"unavailable ({type(error).__name__})"

        async with anyio.create_task_group() as group:
            group.start_soon(check, "database", partial(_database_ready, engine))
            group.start_soon(check, "queue", queue_ping)
        if checks["database"] == "ok":
            # an account or source that refuses our key: nothing syncs until a person fixes it
            remaining = max(0.1, timeout - (anyio.current_time() - started))
            try:
                broken = await bounded(remaining, list_broken, engine)
            except (sa.exc.SQLAlchemyError, TimeoutError) as error:
                broken = []
                checks["accounts"] = f"unknown ({type(error).__name__})"
            for account in broken:
                checks[f"account:{account.target}"] = f"broken since {account.broken_since}: {account.reason}"
        elif spool is not None and checks["queue"] == "ok":
            # the webhooks go to the spool in Redis and are 202s: still a receiver worth routing to
            # (taken out of a load balancer, it would turn the spool's durability into lost calls)
            checks["database"] += "; webhooks are kept in the Redis spool until it is back"
            checks["spool"] = "ok"
        # every check passes, or the database alone fails while the spool takes its place
        counted = {
            name: value
            for name, value in checks.items()
            if scope == "all" or not name.startswith(("account:", "accounts"))
        }
        ready = all(value == "ok" for name, value in counted.items() if name != "database") and (
            checks["database"] == "ok" or "spool" in checks
        )
        if not ready:
            log.warning("not_ready", **checks)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", **checks}, status_code=200 if ready else 503
        )

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        # the queue depth is read from Redis at scrape time: a silent one must not hang the scrape
        try:
            content, content_type = await bounded(deadline, metrics.render_latest)
        except TimeoutError:
            log.error("metrics_timeout", seconds=deadline)
            return Response(
                f"# the metrics could not be gathered within {deadline:g} s\n",
                status_code=503,
                media_type="text/plain",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        return Response(content, media_type=content_type)

    @app.get("/status")
    async def status_page(request: Request) -> Response:
        token = settings.admin_token.get_secret_value() if settings.admin_token else ""
        if token and not _admin_token_given(request, token):
            log.warning("status_unauthorised")
            return JSONResponse(
                {"error": "the status page needs the admin token (Authorization: Bearer <token>)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            report = await bounded(deadline, build_status_report, settings, engine, queue_depths=queue_depths)
        except TimeoutError:
            log.error("status_unavailable", error_type="TimeoutError", seconds=deadline)
            return _status_unavailable(f"no answer within {deadline:g} s")
        except sa.exc.SQLAlchemyError as error:
            log.error("status_unavailable", error_type=type(error).__name__)
            return _status_unavailable(f"the database is unavailable ({type(error).__name__})")
        return HTMLResponse(render_status_html(report))

    return app
