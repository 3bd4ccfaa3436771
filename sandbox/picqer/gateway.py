"""The HTTP shell around the Picqer rules: auth, rate limit, faults, body parsing, the request log,
and sending the webhooks a request raised once its answer is on its way.

Order per request: authenticate (401) -> rate limit (429, not counted) -> injected faults (slow,
5xx before anything happens) -> route (404) -> parse body (400 code 22) -> the rule, under the
state lock -> "timeout after write" faults -> answer, then webhooks as a background task.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from sandbox.faults import FaultInjector
from sandbox.picqer.errors import (
    INVALID_API_KEY,
    INVALID_JSON,
    NOT_IMPLEMENTED,
    RATE_LIMIT_EXCEEDED,
    UNKNOWN_ERROR,
    PicqerError,
    error_body,
)
from sandbox.picqer.hooks import HookDelivery, build_deliveries
from sandbox.picqer.requestlog import LoggedRequest, RequestLog
from sandbox.picqer.routing import ApiRequest, Reply, Route, RouteTable
from sandbox.picqer.state import PicqerState
from sandbox.ratelimit import RateDecision, SlidingWindowLimiter

log = logging.getLogger(__name__)
Dispatch = Callable[[list[HookDelivery]], None]


class Gateway:
    def __init__(
        self,
        *,
        state: PicqerState,
        routes: RouteTable,
        limiter: SlidingWindowLimiter,
        faults: FaultInjector,
        requests: RequestLog,
        dispatch: Dispatch,
        api_key: str | None,
    ) -> None:
        self.state = state
        self.routes = routes
        self.limiter = limiter
        self.faults = faults
        self.requests = requests
        self.dispatch = dispatch
        self.api_key = api_key

    async def handle(self, request: Request, path: str) -> Response:
        method = request.method.upper()
        path = "/" + path.strip("/")
        query = dict(request.query_params)

        def answer(status: int, payload: Any, rate: RateDecision | None = None) -> Response:
            return self._answer(method, path, query, status, payload, rate)

        key = self._api_key_of(request.headers.get("authorization"))
        if key is None:
            return answer(401, error_body(INVALID_API_KEY, "Unauthorized: invalid or missing API key"))
        rate = self.limiter.acquire(key)
        if not rate.allowed:
            # Picqer: "your request will be ignored", so nothing below runs.
            return answer(429, error_body(RATE_LIMIT_EXCEEDED, "Rate limit exceeded"), rate)
        before = self.faults.before(method, path)
        if before.delay:
            await asyncio.sleep(before.delay)
        if before.status is not None:
            return answer(
                before.status, error_body(UNKNOWN_ERROR, "Picqer is mistaken (sandbox fault)"), rate
            )
        matched = self.routes.match(method, path)
        if matched is None:
            return answer(404, error_body(NOT_IMPLEMENTED, f"No API function {method} {path}"), rate)
        route, params = matched
        try:
            body = _parse_body(await request.body()) if method != "GET" else None
        except PicqerError as error:
            return answer(error.status, error.body(), rate)
        api_request = ApiRequest(method=method, path=path, params=params, query=query, body=body)
        (status, payload), deliveries = await run_in_threadpool(self._execute, route, api_request)
        if method != "GET" and 200 <= status < 300:
            after = self.faults.after_write(method, path)
            if after is not None:
                # The write is stored; the client sees a timeout (long delay) or a 5xx instead.
                if after.delay:
                    await asyncio.sleep(after.delay)
                if after.status is not None:
                    status, payload = (
                        after.status,
                        error_body(UNKNOWN_ERROR, "Picqer is mistaken (sandbox fault)"),
                    )
        response = answer(status, payload, rate)
        if deliveries:
            response.background = BackgroundTask(self.dispatch, deliveries)
        return response

    def _execute(self, route: Route, request: ApiRequest) -> tuple[Reply, list[HookDelivery]]:
        with self.state.lock:
            try:
                reply = route.handler(self.state, request)
            except PicqerError as error:
                reply = (error.status, error.body())
            except Exception:
                log.exception("picqer_sandbox_handler_failed", extra={"path": request.path})
                reply = (500, error_body(UNKNOWN_ERROR, "Unknown application error"))
            deliveries = build_deliveries(self.state, self.state.drain_events())
        return reply, deliveries

    def _api_key_of(self, header: str | None) -> str | None:
        """Basic auth with the API key as user name; any password (Picqer ignores it)."""
        if not header or not header.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user = decoded.split(":", 1)[0]
        if not user:
            return None
        if self.api_key is not None and not hmac.compare_digest(user.encode(), self.api_key.encode()):
            return None
        return user

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        status: int,
        payload: Any,
        rate: RateDecision | None,
    ) -> Response:
        error_code = payload.get("error_code") if isinstance(payload, dict) and payload.get("error") else None
        self.requests.add(
            LoggedRequest(method, path, query, status, error_code, self.state.now().isoformat())
        )
        response: Response = (
            Response(status_code=status) if payload is None else JSONResponse(payload, status)
        )
        if rate is not None and rate.limit is not None:
            response.headers["X-RateLimit-Limit"] = str(rate.limit)
            response.headers["X-RateLimit-Remaining"] = str(rate.remaining)
        return response


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise PicqerError(400, INVALID_JSON, "No valid JSON") from None
