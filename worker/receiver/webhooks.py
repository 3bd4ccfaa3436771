"""Accepting a webhook, as plain functions: verify, store in the inbox, enqueue, answer.

Checking (signature, parse) touches no database; storing does. The receiver runs the two apart,
so that a store that outlives its deadline can still keep the verified event in the spool.

The answers are the public contract (README, "Receiver endpoints"): 401 bad signature, 400
malformed body, 404 unknown source, 200 WooCommerce ping, 202 accepted (duplicates too), 503 when
the database or the queue is down, so the sender retries. 202 only once the event is committed
to the inbox or, when the database is away and Redis is not, to the spool.
Each rejection is logged with its reason and target, never with the body or a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, SQLAlchemyError

from adapters.picqer.webhooks import parse_event, verify_signature
from adapters.platform import ShopPlatform
from adapters.types import PICQER
from worker import metrics
from worker.config import Settings, SourceSettings
from worker.errors import ConfigError, WebhookRejected
from worker.logging import get_logger
from worker.sync.inbox import PICQER_INBOX_SOURCE, Enqueue, shop_event_payload, store_event
from worker.sync.rejections import count_rejection
from worker.sync.spool import SpooledEvent, WebhookSpool, database_unavailable

log = get_logger(__name__)

PICQER_TARGET = PICQER


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def reject(target: str, status: int, reason: str, *, engine: Engine | None = None) -> Answer:
    """Log a rejected webhook (reason and target only) and answer ``status``; with ``engine``, count
    it in the mirror too, for ``status`` and the status page (worker/sync/rejections.py)."""
    log.warning("webhook_rejected", target=target, status=status, reason=reason)
    metrics.WEBHOOKS.labels(target, f"rejected_{status}").inc()
    if engine is not None:
        count_rejection(engine, target=target, reason=reason)
    return Answer(status, {"error": reason})


@dataclass(frozen=True)
class Rejected:
    """A webhook turned away: ``status`` (4xx) and a reason that names no secret and no body."""

    status: int
    reason: str


@dataclass(frozen=True)
class Incoming:
    """A verified webhook, ready for the inbox."""

    source: str
    event_key: str
    topic: str
    payload: str


#: what checking a webhook gives: an answer now (ping, ignored), a rejection, or an event to store
Verdict = Answer | Rejected | Incoming

DATABASE_UNAVAILABLE = Answer(503, {"error": "the database is unavailable; retry later"})


def check_picqer_webhook(raw: bytes, signature: str | None, *, settings: Settings) -> Verdict:
    """``POST /webhooks/picqer``: check ``X-Picqer-Signature`` and parse the event (no database)."""
    secret = settings.picqer.webhook_secret.get_secret_value()
    if not secret:
        # accepting unsigned events would let anyone move the mirror; hooks sync sets a secret
        return Rejected(401, "no picqer.webhook_secret is configured to check signatures")
    if not verify_signature(raw, signature, secret):
        return Rejected(
            401, "missing X-Picqer-Signature" if not signature else "X-Picqer-Signature does not match"
        )
    try:
        event = parse_event(raw)
    except WebhookRejected as error:
        return Rejected(error.status if 400 <= error.status < 500 else 400, error.reason)
    # parse_event has decoded the body as JSON, so it is valid UTF-8
    return Incoming(
        source=PICQER_INBOX_SOURCE, event_key=event.event_key, topic=event.event, payload=raw.decode("utf-8")
    )


def find_webhook_source(settings: Settings, name: str) -> SourceSettings | None:
    """The enabled source called ``name``; None for unknown and disabled ones (both answer 404)."""
    try:
        source = settings.source(name)
    except ConfigError:
        return None
    return source if source.enabled else None


def check_shop_webhook(
    source: SourceSettings, raw: bytes, headers: Mapping[str, str], *, platform: ShopPlatform
) -> Verdict:
    """``POST /webhooks/sources/{name}``: the platform's check and parse (no database)."""
    target = source.name
    if platform.verify_webhook is None:
        return Rejected(
            404, f"source {source.name!r} ({platform.name}) sends no webhooks; it is polled instead"
        )
    try:
        webhook = platform.verify_webhook(raw, headers, source)
    except WebhookRejected as error:
        return Rejected(error.status if error.status in (400, 401) else 400, error.reason)
    except Exception as error:  # a parser bug on odd input must still not become a 500
        log.error("webhook_parse_error", target=target, error_type=type(error).__name__)
        return Rejected(400, "the webhook body could not be read")
    if webhook.is_ping:
        log.info("webhook_ping", target=target)
        metrics.WEBHOOKS.labels(target, "ping").inc()
        return Answer(200, {"status": "ok"})
    if webhook.shop_order_id is None and webhook.order is None:
        log.info("webhook_ignored", target=target, topic=webhook.topic)
        metrics.WEBHOOKS.labels(target, "ignored").inc()
        return Answer(202, {"status": "ignored", "reason": "not an order webhook"})
    return Incoming(
        source=source.name,
        event_key=webhook.event_key,
        topic=webhook.topic,
        payload=shop_event_payload(webhook),
    )


def unstorable(engine: Engine, *values: str) -> bool:
    """Whether the database behind ``engine`` would refuse one of ``values`` (PostgreSQL ``text``
    holds no NUL character): such a body fails on every retry, so it is the sender's 400."""
    return engine.dialect.name == "postgresql" and any("\x00" in value for value in values)


def store_and_enqueue(
    target: str,
    *,
    source: str,
    event_key: str,
    topic: str,
    payload: str,
    engine: Engine,
    enqueue: Enqueue,
    spool: WebhookSpool | None = None,
) -> Answer:
    """Commit the event to the inbox, then enqueue it; 503 when either is down.

    With a ``spool``, an inbox write that fails because the database is unavailable keeps the event
    in the spool instead and answers 202 (``worker/sync/spool.py`` moves it to the inbox later).
    """
    if unstorable(engine, event_key, topic, payload):
        return reject(
            target, 400, "the webhook holds a NUL character, which the database cannot store", engine=engine
        )
    try:
        stored = store_event(engine, source=source, event_key=event_key, topic=topic, payload=payload)
    except (DataError, UnicodeEncodeError) as error:
        # a value the database cannot hold: the same body fails on every retry, so it is the
        # sender's 400, never a 503 to retry
        reason = f"the webhook holds a value the database cannot store ({type(error).__name__})"
        return reject(target, 400, reason, engine=engine)
    except SQLAlchemyError as error:
        if spool is not None and database_unavailable(error):
            event = SpooledEvent.of(source=source, event_key=event_key, topic=topic, payload=payload)
            return spool_event(target, event, spool=spool, cause=type(error).__name__)
        log.error("webhook_store_failed", target=target, error_type=type(error).__name__)
        metrics.WEBHOOKS.labels(target, "unavailable").inc()
        return DATABASE_UNAVAILABLE
    if stored.duplicate:
        # already stored; its processing was enqueued then (or the sweeper will)
        log.info("webhook_duplicate", target=target, topic=topic, inbox_id=stored.inbox_id)
        metrics.WEBHOOKS.labels(target, "duplicate").inc()
        return Answer(202, {"status": "duplicate"})
    try:
        enqueue(source, stored.inbox_id)
    except Exception as error:
        # stored but not enqueued: the sender's retry is answered 202 (duplicate) and the sweeper
        # enqueues it; 503 now says "not done yet"
        log.error(
            "webhook_enqueue_failed", target=target, inbox_id=stored.inbox_id, error_type=type(error).__name__
        )
        metrics.WEBHOOKS.labels(target, "unavailable").inc()
        return Answer(503, {"error": "the queue is unavailable; retry later"})
    log.info("webhook_accepted", target=target, topic=topic, inbox_id=stored.inbox_id)
    metrics.WEBHOOKS.labels(target, "accepted").inc()
    return Answer(202, {"status": "accepted"})


def spool_event(target: str, event: SpooledEvent, *, spool: WebhookSpool, cause: str) -> Answer:
    """Keep ``event`` in the spool while the database is away (``cause``: the inbox write's error):
    202 once it is there, else 503. One log line either way."""
    try:
        added = spool.put(event)
    except Exception as error:  # Redis away too: nowhere durable to keep it, the sender retries
        log.error("webhook_spool_failed", target=target, cause=cause, error_type=type(error).__name__)
        metrics.WEBHOOKS.labels(target, "unavailable").inc()
        return DATABASE_UNAVAILABLE
    log.warning("webhook_spooled", target=target, topic=event.topic, cause=cause, duplicate=not added)
    metrics.WEBHOOKS.labels(target, "spooled").inc()
    return Answer(202, {"status": "accepted", "stored": "spool"})
