"""The receiver: a FastAPI app of thin routes over :mod:`worker.receiver.webhooks` and the status.

Built by :func:`create_receiver_app` from its collaborators (engine, enqueue, queue probes), never
at import time, so tests and the single-process ``run`` wire it to what they have.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeVar

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
from worker.receiver.status import build_status_report, render_status_html
from worker.receiver.webhooks import (
    PICQER_TARGET,
    Answer,
    accept_picqer_webhook,
    accept_shop_webhook,
    find_webhook_source,
    reject,
)
from worker.sync.health import list_broken
from worker.sync.inbox import Enqueue
from worker.sync.rejections import count_rejection

log = get_logger(__name__)

QueueDepths = Callable[[], Mapping[str, int]]
T = TypeVar("T")

DATABASE_TIMEOUT = Answer(503, {"error": "the database did not answer in time; retry later"})


async def bounded(seconds: float, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` in a worker thread, given up after ``seconds`` (``TimeoutError``).

    A thread cannot be stopped: the one given up on ends by itself once the database's own timeouts
    (connect, pool, statement) fire; the answer does not wait for it.
    """
    with anyio.fail_after(seconds):
        return await anyio.to_thread.run_sync(partial(func, *args, **kwargs), abandon_on_cancel=True)


def receiver_timeouts(settings: Settings) -> DatabaseTimeouts:
    """The receiver engine's bounds on the database (settings ``database_*``/``receiver_*``)."""
    return DatabaseTimeouts(
        connect_seconds=settings.database_connect_timeout_seconds,
        pool_seconds=settings.database_pool_timeout_seconds,
        statement_seconds=settings.receiver_statement_timeout_seconds,
    )


def _json(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status)


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
) -> FastAPI:
    """The receiver app.

    ``enqueue(inbox_source, inbox_id)`` hands a stored event to the queue; ``queue_ping`` raises when
    the queue is unreachable (``/readyz``); ``queue_depths`` feeds ``/metrics`` and ``/status``.
    """
    app = FastAPI(title="picqer-sync receiver", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    metrics.set_queue_depth_source(queue_depths)
    limit = settings.max_webhook_bytes
    deadline = settings.receiver_deadline_seconds

    async def rejected(target: str, status: int, reason: str) -> Answer:
        """Reject now; count it in the mirror if the database answers in time (else only logged)."""
        answer = reject(target, status, reason)
        try:
            await bounded(deadline, count_rejection, engine, target=target, reason=reason)
        except TimeoutError:
            log.warning("webhook_rejection_not_counted", target=target, error_type="TimeoutError")
        return answer

    async def accepted(target: str, func: Callable[..., Answer], *args: Any, **kwargs: Any) -> Answer:
        try:
            return await bounded(deadline, func, *args, **kwargs)
        except TimeoutError:
            log.error("webhook_database_timeout", target=target, seconds=deadline)
            metrics.WEBHOOKS.labels(target, "unavailable").inc()
            return DATABASE_TIMEOUT

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
        answer = await accepted(
            PICQER_TARGET,
            accept_picqer_webhook,
            raw,
            signature,
            settings=settings,
            engine=engine,
            enqueue=enqueue,
        )
        return _json(answer)

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
        answer = await accepted(
            source.name,
            accept_shop_webhook,
            source,
            raw,
            headers,
            platform=platform,
            engine=engine,
            enqueue=enqueue,
        )
        return _json(answer)

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
        ready = all(value == "ok" for value in checks.values())
        if not ready:
            log.warning("not_ready", **checks)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", **checks}, status_code=200 if ready else 503
        )

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        content, content_type = await run_in_threadpool(metrics.render_latest)
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
            report = await run_in_threadpool(build_status_report, settings, engine, queue_depths=queue_depths)
        except sa.exc.SQLAlchemyError as error:
            log.error("status_unavailable", error_type=type(error).__name__)
            return JSONResponse({"error": "the database is unavailable"}, status_code=503)
        return HTMLResponse(render_status_html(report))

    return app
