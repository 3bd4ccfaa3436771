"""Picqer's API (mounted at ``/picqer/api/v1``): the HTTP shell around the rules in endpoints.py.

Auth, rate limit, faults, body parsing, the request log, and sending the webhooks a request raised
once its answer is on its way. Order per request: authenticate (401) -> rate limit (429, not
counted) -> injected faults (slow, 5xx before anything happens) -> route (404) -> parse body (400
code 22) -> the rule, under the state lock -> "timeout after write" faults -> answer, then webhooks
as a background task.

The API is served by one catch-all FastAPI route so that Picqer's client quirks all work (see
routing.py for why FastAPI's own routing is not used per endpoint).
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

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from sandbox.picqer.endpoints import routes
from sandbox.picqer.errors import (
    INVALID_API_KEY,
    INVALID_JSON,
    NOT_IMPLEMENTED,
    RATE_LIMIT_EXCEEDED,
    UNKNOWN_ERROR,
    PicqerError,
    error_body,
)
from sandbox.picqer.ports import ApiPort
from sandbox.picqer.requestlog import LoggedRequest
from sandbox.picqer.routing import ApiRequest, Reply, Route
from sandbox.picqer.state import PicqerState
from sandbox.ratelimit import RateDecision

log = logging.getLogger(__name__)
API_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def build_api_router(sim: ApiPort) -> APIRouter:
    router = APIRouter()
    router.add_api_route("/{path:path}", Gateway(sim).handle, methods=API_METHODS, include_in_schema=False)
    return router


class Gateway:
    """Answers every API request in the order the module docstring gives."""

    def __init__(self, sim: ApiPort) -> None:
        self.sim = sim

    async def handle(self, request: Request, path: str) -> Response:
        method = request.method.upper()
        path = "/" + path.strip("/")
        query = dict(request.query_params)

        def answer(status: int, payload: Any, rate: RateDecision | None = None) -> Response:
            return self._answer(method, path, query, status, payload, rate)

        key = self._api_key_of(request.headers.get("authorization"))
        if key is None:
            return answer(401, error_body(INVALID_API_KEY, "Unauthorized: invalid or missing API key"))
        rate = self.sim.limiter.acquire(key)
        if not rate.allowed:
            # Picqer: "your request will be ignored", so nothing below runs.
            return answer(429, error_body(RATE_LIMIT_EXCEEDED, "Rate limit exceeded"), rate)
        before = self.sim.faults.before(method, path)
        if before.delay:
            await asyncio.sleep(before.delay)
        if before.status is not None:
            return answer(
                before.status, error_body(UNKNOWN_ERROR, "Picqer is mistaken (sandbox fault)"), rate
            )
        matched = routes.match(method, path)
        if matched is None:
            return answer(404, error_body(NOT_IMPLEMENTED, f"No API function {method} {path}"), rate)
        route, params = matched
        try:
            body = _parse_body(await request.body()) if method != "GET" else None
        except PicqerError as error:
            return answer(error.status, error.body(), rate)
        api_request = ApiRequest(method=method, path=path, params=params, query=query, body=body)
        (status, payload), deliveries = await run_in_threadpool(self.sim.run, _rule(route, api_request))
        if method != "GET" and 200 <= status < 300:
            after = self.sim.faults.after_write(method, path)
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
            response.background = BackgroundTask(self.sim.deliver, deliveries)
        return response

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
        api_key = self.sim.api_key
        if api_key is not None and not hmac.compare_digest(user.encode(), api_key.encode()):
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
        self.sim.requests.add(
            LoggedRequest(method, path, query, status, error_code, self.sim.clock.now().isoformat())
        )
        response: Response = (
            Response(status_code=status) if payload is None else JSONResponse(payload, status)
        )
        if rate is not None and rate.limit is not None:
            response.headers["X-RateLimit-Limit"] = str(rate.limit)
            response.headers["X-RateLimit-Remaining"] = str(rate.remaining)
        return response


def _rule(route: Route, request: ApiRequest) -> Callable[[PicqerState], Reply]:
    """The route's rule as a state action that answers Picqer's error instead of raising it."""

    def apply(state: PicqerState) -> Reply:
        try:
            return route.handler(state, request)
        except PicqerError as error:
            return error.status, error.body()
        except Exception:
            log.exception("picqer_sandbox_handler_failed", extra={"path": request.path})
            return 500, error_body(UNKNOWN_ERROR, "Unknown application error")

    return apply


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise PicqerError(400, INVALID_JSON, "No valid JSON") from None
