"""The two webhook endpoints as plain ASGI: ``POST /webhooks/picqer`` and
``POST /webhooks/sources/{name}``.

They are the receiver's hot path, so they skip FastAPI's routing, dependency solving and request
objects (about a third of a webhook's CPU on the event loop, ``make bench``): read the body within
its limit, check it (signature, parse; on the loop when small), hand it to the inbox writer under
the gate and the deadline, answer JSON. Every other path is the FastAPI app's
(:mod:`worker.receiver.app`), which routes here first.

Answers (README, "Receiver endpoints"): 401 bad signature, 400 malformed, 413 too large, 404
unknown source, 202 accepted (duplicates too), 503 with ``Retry-After`` when the database or the
queue is down or the receiver is full. Never a 500 for bad input.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from adapters.picqer.webhooks import SIGNATURE_HEADER
from adapters.platform import ShopPlatform
from worker import metrics
from worker.config import Settings
from worker.errors import ConfigError
from worker.logging import get_logger
from worker.receiver.answers import ACCEPTED, DATABASE_UNAVAILABLE, DUPLICATE, Answer, reject, spool_event
from worker.receiver.batch import Pending
from worker.receiver.body import BodyTooLarge, ClientGone, InvalidContentLength, Receive, read_body
from worker.receiver.gate import Saturated, ThreadGate
from worker.receiver.webhooks import (
    PICQER_TARGET,
    Incoming,
    Rejected,
    Verdict,
    check_picqer_webhook,
    check_shop_webhook,
    find_webhook_source,
    unstorable,
)
from worker.receiver.writer import InboxWriter
from worker.sync.rejections import count_rejection
from worker.sync.spool import WebhookSpool

log = get_logger(__name__)

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

PICQER_PATH = "/webhooks/picqer"
SOURCES_PATH = "/webhooks/sources/"
RETRY_AFTER_SECONDS = 5  # every 503 says when to come back (Picqer and the shops retry later anyway)
DATABASE_TIMEOUT = Answer(503, {"error": "the database did not answer in time; retry later"})
BUSY = Answer(503, {"error": "the receiver is busy; retry later"})
# a spool write after the inbox write ran out of time: Redis answers in milliseconds, so this keeps
# the whole answer within about 3 s (Shopify counts a failure after 5)
SPOOL_PUT_SECONDS = 0.5
# a body this small is checked (HMAC, JSON) on the event loop, in well under a millisecond; a
# larger one (up to max_webhook_bytes) in a worker thread, so one big body cannot stall the others
LOOP_CHECK_BYTES = 64 * 1024


def webhook_target(scope: Scope) -> str | None:
    """``"picqer"``, ``"sources/<name>"`` for a webhook POST this module answers; else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if path == PICQER_PATH:
        return PICQER_TARGET
    if path.startswith(SOURCES_PATH):
        name = path[len(SOURCES_PATH) :]
        if name and "/" not in name:
            return "sources/" + name
    return None


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))  # the first of repeats
    return headers


def _encoded(answer: Answer) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(answer.body, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if answer.status == 503:
        headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
    return headers, body


# the answers almost every webhook gets, encoded once (ASGI servers do not change what they send)
_ENCODED = {id(answer): _encoded(answer) for answer in (ACCEPTED, DUPLICATE)}


async def _answer(send: Send, answer: Answer) -> None:
    headers, body = _ENCODED.get(id(answer)) or _encoded(answer)
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class WebhookEndpoints:
    """The webhook endpoints over the inbox writer; ``await endpoints(target, scope, receive, send)``."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine,
        writer: InboxWriter,
        gate: ThreadGate,
        platforms: Callable[[str], ShopPlatform],
        spool: WebhookSpool | None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.writer = writer
        self.gate = gate
        self.platforms = platforms
        self.spool = spool
        self.limit = settings.max_webhook_bytes
        self.deadline = settings.receiver_deadline_seconds
        self._platforms: dict[str, ShopPlatform] = {}  # found once each, not by an import per webhook

    async def __call__(self, target: str, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        if target == PICQER_TARGET:
            answer = await self.picqer(headers, receive)
        else:
            answer = await self.shop(target.removeprefix("sources/"), headers, receive)
        await _answer(send, answer)

    async def picqer(self, headers: Mapping[str, str], receive: Receive) -> Answer:
        raw = await self.body_or_answer(headers, receive, PICQER_TARGET)
        if isinstance(raw, Answer):
            return raw
        signature = headers.get(SIGNATURE_HEADER.lower())
        if len(raw) <= LOOP_CHECK_BYTES:
            verdict = check_picqer_webhook(raw, signature, settings=self.settings)
        else:  # parsing a deep or large body is CPU work: off the event loop, no database involved
            verdict = await run_in_threadpool(check_picqer_webhook, raw, signature, settings=self.settings)
        return await self.settle(PICQER_TARGET, verdict)

    async def shop(self, name: str, headers: Mapping[str, str], receive: Receive) -> Answer:
        source = find_webhook_source(self.settings, name)
        if source is None:
            # one metric label for every unknown name: a caller must not mint label values
            log.info("webhook_unknown_source", name=name[:100])
            return await self.rejected("unknown-source", 404, "unknown or disabled source")
        try:
            platform = self.platform(source.platform)
        except ConfigError as error:
            return reject(source.name, 404, error.reason)
        if platform.verify_webhook is None:
            # answer before reading the body: there is nothing to verify it with
            reason = f"source {source.name!r} ({platform.name}) sends no webhooks; it is polled"
            return reject(source.name, 404, reason)
        raw = await self.body_or_answer(headers, receive, source.name)
        if isinstance(raw, Answer):
            return raw
        if len(raw) <= LOOP_CHECK_BYTES:
            verdict = check_shop_webhook(source, raw, headers, platform=platform)
        else:
            verdict = await run_in_threadpool(check_shop_webhook, source, raw, headers, platform=platform)
        return await self.settle(source.name, verdict)

    def platform(self, name: str) -> ShopPlatform:
        """The platform called ``name``; ``ConfigError`` (not remembered) when there is none."""
        found = self._platforms.get(name)
        if found is None:
            found = self._platforms[name] = self.platforms(name)
        return found

    async def body_or_answer(
        self, headers: Mapping[str, str], receive: Receive, target: str
    ) -> bytes | Answer:
        try:
            return await read_body(headers, receive, self.limit)
        except BodyTooLarge:
            status, reason = 413, f"the body is larger than {self.limit} bytes"
        except InvalidContentLength:
            status, reason = 400, "the Content-Length header is not a number"
        except ClientGone:
            # nobody is left to read an answer: one line, no traceback, nothing stored or counted
            log.info("webhook_client_disconnected", target=target)
            return Answer(400, {"error": "the client disconnected before the body arrived"})
        return await self.rejected(target, status, reason)

    async def settle(self, target: str, verdict: Verdict) -> Answer:
        if isinstance(verdict, Rejected):
            return await self.rejected(target, verdict.status, verdict.reason)
        if isinstance(verdict, Incoming):
            return await self.store(target, verdict)
        return verdict

    async def rejected(self, target: str, status: int, reason: str) -> Answer:
        """Reject now; count it in the mirror if the database answers in time (else only logged)."""
        answer = reject(target, status, reason)
        try:
            await self.gate.run(self.deadline, count_rejection, self.engine, target=target, reason=reason)
        except (TimeoutError, Saturated) as error:
            log.warning("webhook_rejection_not_counted", target=target, error_type=type(error).__name__)
        return answer

    async def store(self, target: str, event: Incoming) -> Answer:
        """The inbox (or the spool, when the database is away), within the deadline."""
        if unstorable(self.engine, event.event_key, event.topic, event.payload):
            reason = "the webhook holds a NUL character, which the database cannot store"
            return await self.rejected(target, 400, reason)
        pending = Pending.of(
            target, source=event.source, event_key=event.event_key, topic=event.topic, payload=event.payload
        )
        try:
            async with asyncio.timeout(self.deadline):  # lighter than anyio's scope on the hot path
                return await self.written(pending)
        except Saturated:
            log.warning("webhook_busy", target=target, in_flight=self.gate.in_flight)
            metrics.WEBHOOKS.labels(target, "busy").inc()
            return BUSY
        except TimeoutError:
            pass
        except Exception as error:  # the writer's own failure: the sender retries, never a 500
            log.error("webhook_store_failed", target=target, error_type=type(error).__name__)
            metrics.WEBHOOKS.labels(target, "unavailable").inc()
            return DATABASE_UNAVAILABLE
        if self.spool is not None:
            # the store may still commit later: the spool's drain then finds a duplicate, harmless
            try:
                return await self.gate.run(
                    SPOOL_PUT_SECONDS,
                    spool_event,
                    target,
                    pending.spooled(),
                    spool=self.spool,
                    cause="TimeoutError",
                )
            except (TimeoutError, Saturated) as error:
                log.error("webhook_spool_failed", target=target, error_type=type(error).__name__)
                metrics.WEBHOOKS.labels(target, "unavailable").inc()
                return DATABASE_UNAVAILABLE
        log.error("webhook_database_timeout", target=target, seconds=self.deadline)
        metrics.WEBHOOKS.labels(target, "unavailable").inc()
        return DATABASE_TIMEOUT

    async def written(self, event: Pending) -> Answer:
        """A slot at the gate, then the inbox writer's answer for ``event`` (``Saturated`` when the
        gate is full). The slot is held until the writer is done with the event, whenever this
        request stops waiting for it (a cancelled wait drops an event not yet taken)."""
        await self.gate.enter()
        return await self.writer.submit_async(event, done=self.gate.leave)
