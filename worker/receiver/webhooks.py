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
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from adapters.picqer.webhooks import parse_event, verify_signature
from adapters.platform import ShopPlatform
from adapters.types import PICQER
from worker import metrics
from worker.config import Settings, SourceSettings
from worker.errors import ConfigError, WebhookRejected
from worker.logging import get_logger
from worker.receiver.answers import DATABASE_UNAVAILABLE, Answer, reject, spool_event
from worker.receiver.batch import Pending, store_batch
from worker.sync.inbox import PICQER_INBOX_SOURCE, Enqueue, shop_event_payload
from worker.sync.spool import WebhookSpool

log = get_logger(__name__)

PICQER_TARGET = PICQER


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
    """Commit one event to the inbox, then enqueue it; 503 when either is down (a group of one:
    the receiver itself stores through :class:`worker.receiver.writer.InboxWriter`).

    With a ``spool``, an inbox write that fails because the database is unavailable keeps the event
    in the spool instead and answers 202 (``worker/sync/spool.py`` moves it to the inbox later).
    """
    if unstorable(engine, event_key, topic, payload):
        return reject(
            target, 400, "the webhook holds a NUL character, which the database cannot store", engine=engine
        )
    event = Pending.of(target, source=source, event_key=event_key, topic=topic, payload=payload)
    [answer] = store_batch([event], engine=engine, enqueue=enqueue, spool=spool)
    return answer


__all__ = [
    "DATABASE_UNAVAILABLE",
    "PICQER_TARGET",
    "Answer",
    "Incoming",
    "Rejected",
    "Verdict",
    "check_picqer_webhook",
    "check_shop_webhook",
    "find_webhook_source",
    "reject",
    "spool_event",
    "store_and_enqueue",
    "unstorable",
]
