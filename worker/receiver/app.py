"""The receiver: a FastAPI app of thin routes over :mod:`worker.receiver.webhooks` and the status.

Built by :func:`create_receiver_app` from its collaborators (engine, enqueue, queue probes, the
webhook spool), never at import time, so tests and the single-process ``run`` wire it to what
they have. Every wait on the database is bounded: webhooks by ``receiver_deadline_seconds`` and
the :class:`~worker.receiver.gate.ThreadGate` (fast 503s with ``Retry-After`` under a flood),
``/readyz`` by ``readiness_timeout_seconds``, ``/status`` and ``/metrics`` by the deadline too.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from functools import partial

import anyio
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from adapters.picqer.webhooks import SIGNATURE_HEADER
from adapters.platform import ShopPlatform
from adapters.registry import get_platform
from worker import metrics
from worker.config import Settings
from worker.db.session import DatabaseTimeouts
from worker.errors import ConfigError
from worker.logging import get_logger
from worker.receiver.body import BodyTooLarge, ClientGone, InvalidContentLength, read_body
from worker.receiver.gate import Saturated, ThreadGate, bounded
from worker.receiver.status import build_status_report, render_status_html
from worker.receiver.webhooks import (
    DATABASE_UNAVAILABLE,
    PICQER_TARGET,
    Answer,
    Incoming,
    Rejected,
    Verdict,
    check_picqer_webhook,
    check_shop_webhook,
    find_webhook_source,
    reject,
    spool_event,
    store_and_enqueue,
)
from worker.sync.health import list_broken
from worker.sync.inbox import Enqueue
from worker.sync.rejections import count_rejection
from worker.sync.spool import DRAIN_INTERVAL_SECONDS, SpoolDrainer, SpooledEvent, WebhookSpool

log = get_logger(__name__)

QueueDepths = Callable[[], Mapping[str, int]]

DATABASE_TIMEOUT = Answer(503, {"error": "the database did not answer in time; retry later"})
BUSY = Answer(503, {"error": "the receiver is busy; retry later"})
RETRY_AFTER_SECONDS = 5  # every 503 says when to come back (Picqer and the shops retry later anyway)
# a spool write after the inbox write ran out of time: Redis answers in milliseconds, so this keeps
# the whole answer within about 3 s (Shopify counts a failure after 5)
SPOOL_PUT_SECONDS = 0.5

__all__ = ["bounded", "create_receiver_app", "receiver_timeouts"]


def receiver_timeouts(settings: Settings) -> DatabaseTimeouts:
    """The receiver engine's bounds on the database (settings ``database_*``/``receiver_*``)."""
    return DatabaseTimeouts(
        connect_seconds=settings.database_connect_timeout_seconds,
        pool_seconds=settings.database_pool_timeout_seconds,
        statement_seconds=settings.receiver_statement_timeout_seconds,
    )


def _json(answer: Answer) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if answer.status == 503 else None
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


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
) -> FastAPI:
    """The receiver app.

    ``enqueue(inbox_source, inbox_id)`` hands a stored event to the queue; ``queue_ping`` raises when
    the queue is unreachable (``/readyz``); ``queue_depths`` feeds ``/metrics`` and ``/status``.
    With a ``spool`` (split deployments, Redis), a webhook whose inbox write fails because the
    database is away is kept there and answered 202; the app's lifespan runs a thread that moves
    spooled webhooks into the inbox every ``drain_interval`` seconds. ``gate`` bounds the threads
    waiting on the database (default: :data:`worker.receiver.gate.MAX_IN_FLIGHT`).
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        drainer = None
        if spool is not None:
            drainer = SpoolDrainer(spool, engine=engine, enqueue=enqueue, interval=drain_interval)
            drainer.start()
        try:
            yield
        finally:
            if drainer is not None:
                await anyio.to_thread.run_sync(drainer.stop)

    app = FastAPI(
        title="picqer-sync receiver", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.settings = settings
    metrics.set_queue_depth_source(queue_depths)
    limit = settings.max_webhook_bytes
    deadline = settings.receiver_deadline_seconds
    gate = gate or ThreadGate()

    async def rejected(target: str, status: int, reason: str) -> Answer:
        """Reject now; count it in the mirror if the database answers in time (else only logged)."""
        answer = reject(target, status, reason)
        try:
            await gate.run(deadline, count_rejection, engine, target=target, reason=reason)
        except (TimeoutError, Saturated) as error:
            log.warning("webhook_rejection_not_counted", target=target, error_type=type(error).__name__)
        return answer

    def busy(target: str) -> Answer:
        log.warning("webhook_busy", target=target, in_flight=gate.in_flight)
        metrics.WEBHOOKS.labels(target, "busy").inc()
        return BUSY

    async def store(target: str, event: Incoming) -> Answer:
        """The inbox (or the spool, when the database is away), within the deadline."""
        try:
            return await gate.run(
                deadline,
                store_and_enqueue,
                target,
                source=event.source,
                event_key=event.event_key,
                topic=event.topic,
                payload=event.payload,
                engine=engine,
                enqueue=enqueue,
                spool=spool,
            )
        except Saturated:
            return busy(target)
        except TimeoutError:
            pass
        if spool is not None:
            # the store may still commit later: the spool's drain then finds a duplicate, harmless
            spooled = SpooledEvent.of(
                source=event.source, event_key=event.event_key, topic=event.topic, payload=event.payload
            )
            try:
                return await gate.run(
                    SPOOL_PUT_SECONDS, spool_event, target, spooled, spool=spool, cause="TimeoutError"
                )
            except (TimeoutError, Saturated) as error:
                log.error("webhook_spool_failed", target=target, error_type=type(error).__name__)
                metrics.WEBHOOKS.labels(target, "unavailable").inc()
                return DATABASE_UNAVAILABLE
        log.error("webhook_database_timeout", target=target, seconds=deadline)
        metrics.WEBHOOKS.labels(target, "unavailable").inc()
        return DATABASE_TIMEOUT

    async def settle(target: str, verdict: Verdict) -> Response:
        if isinstance(verdict, Rejected):
            return _json(await rejected(target, verdict.status, verdict.reason))
        if isinstance(verdict, Incoming):
            return _json(await store(target, verdict))
        return _json(verdict)

    async def body_or_answer(request: Request, target: str) -> bytes | Answer:
        try:
            return await read_body(request, limit)
        except BodyTooLarge:
            status, reason = 413, f"the body is larger than {limit} bytes"
        except InvalidContentLength:
            status, reason = 400, "the Content-Length header is not a number"
        except ClientGone:
            # nobody is left to read an answer: one line, no traceback, nothing stored or counted
            log.info("webhook_client_disconnected", target=target)
            return Answer(400, {"error": "the client disconnected before the body arrived"})
        return await rejected(target, status, reason)

    @app.post("/webhooks/picqer", status_code=202)
    async def picqer_webhook(request: Request) -> Response:
        raw = await body_or_answer(request, PICQER_TARGET)
        if isinstance(raw, Answer):
            return _json(raw)
        signature = request.headers.get(SIGNATURE_HEADER)
        # parsing a deep or large body is CPU work: off the event loop, no database involved
        verdict = await run_in_threadpool(check_picqer_webhook, raw, signature, settings=settings)
        return await settle(PICQER_TARGET, verdict)

    @app.post("/webhooks/sources/{name}", status_code=202)
    async def shop_webhook(name: str, request: Request) -> Response:
        source = find_webhook_source(settings, name)
        if source is None:
            # one metric label for every unknown name: a caller must not mint label values
            log.info("webhook_unknown_source", name=name[:100])
            return _json(await rejected("unknown-source", 404, "unknown or disabled source"))
        try:
            platform = platforms(source.platform)
        except ConfigError as error:
            return _json(reject(source.name, 404, error.reason))
        if platform.verify_webhook is None:
            # answer before reading the body: there is nothing to verify it with
            return _json(
                reject(
                    source.name,
                    404,
                    f"source {source.name!r} ({platform.name}) sends no webhooks; it is polled",
                )
            )
        raw = await body_or_answer(request, source.name)
        if isinstance(raw, Answer):
            return _json(raw)
        headers = dict(request.headers)
        verdict = await run_in_threadpool(check_shop_webhook, source, raw, headers, platform=platform)
        return await settle(source.name, verdict)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
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
        ready = all(value == "ok" for name, value in checks.items() if name != "database") and (
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
