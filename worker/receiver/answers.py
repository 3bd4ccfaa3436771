"""What a webhook is answered, with its one log line and metric: rejections, the spool's 202.

The answers are the public contract (README, "Receiver endpoints"); each rejection is logged with
its reason and target, never with the body or a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from worker import metrics
from worker.logging import get_logger
from worker.sync.rejections import count_rejection
from worker.sync.spool import SpooledEvent, WebhookSpool

log = get_logger(__name__)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


DATABASE_UNAVAILABLE = Answer(503, {"error": "the database is unavailable; retry later"})
QUEUE_UNAVAILABLE = Answer(503, {"error": "the queue is unavailable; retry later"})
ACCEPTED = Answer(202, {"status": "accepted"})
DUPLICATE = Answer(202, {"status": "duplicate"})


def reject(target: str, status: int, reason: str, *, engine: Engine | None = None) -> Answer:
    """Log a rejected webhook (reason and target only) and answer ``status``; with ``engine``, count
    it in the mirror too, for ``status`` and the status page (worker/sync/rejections.py)."""
    log.warning("webhook_rejected", target=target, status=status, reason=reason)
    metrics.WEBHOOKS.labels(target, f"rejected_{status}").inc()
    if engine is not None:
        count_rejection(engine, target=target, reason=reason)
    return Answer(status, {"error": reason})


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
