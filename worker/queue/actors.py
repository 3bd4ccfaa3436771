"""The actors: thin shells over :class:`worker.queue.handlers.Handlers`, declared on a given broker.

Arguments are ids only (dramatiq logs arguments when a message fails): an inbox row id, a source
name and shop order id, a mirror order id. Never a payload, never a secret.

Retries are driven by the error tree (``worker/errors.py``):

* ``RateLimited`` -> :class:`RateLimitRetry` with Picqer's wait: no retry is spent;
* other ``RetriableError`` (and anything unexpected) -> dramatiq's backoff, up to ``max_retries``;
* ``FatalError`` / ``SkippableError`` -> ``throws``: no retry; the use case recorded the reason
  and the dead-letter actor records it again if it did not.

Backoffs and limits are ours, not dramatiq's defaults (20 retries over a week, 10 minute limit).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

import dramatiq

from worker.errors import FatalError, RateLimited, SkippableError
from worker.queue.handlers import Handlers
from worker.queue.inbox import PICQER_INBOX_SOURCE
from worker.queue.middleware import DEAD_LETTER_ACTOR, RateLimitRetry

QUEUE_NAME = "picqer-sync"
THROWS = (FatalError, SkippableError)
SECOND = 1000  # dramatiq counts milliseconds
MINUTE = 60 * SECOND

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class ActorOptions:
    max_retries: int
    min_backoff: int
    max_backoff: int
    time_limit: int

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "max_retries": self.max_retries,
            "min_backoff": self.min_backoff,
            "max_backoff": self.max_backoff,
            "time_limit": self.time_limit,
        }


# one event or one order: quick, retried for about an hour (5 s, 10 s, ... capped at 15 min)
EVENT_OPTIONS = ActorOptions(
    max_retries=10, min_backoff=5 * SECOND, max_backoff=15 * MINUTE, time_limit=2 * MINUTE
)
FULFILMENT_OPTIONS = ActorOptions(
    max_retries=12, min_backoff=15 * SECOND, max_backoff=30 * MINUTE, time_limit=2 * MINUTE
)
# a poll or reconcile walks many pages; the next scheduled run repairs a failed one, so few retries
SWEEP_OPTIONS = ActorOptions(
    max_retries=3, min_backoff=30 * SECOND, max_backoff=5 * MINUTE, time_limit=30 * MINUTE
)
DEAD_LETTER_OPTIONS = ActorOptions(
    max_retries=20, min_backoff=5 * SECOND, max_backoff=10 * MINUTE, time_limit=MINUTE
)


def rate_limit_delay_ms(error: RateLimited) -> int:
    wait = int(error.retry_after * SECOND)
    # jitter, so the messages that hit the same 429 do not all come back in the same millisecond
    return wait + random.randint(0, max(1, min(SECOND, wait // 5)))


def _waits_out_429s(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)  # keeps the name and signature (the log context reads the parameter names)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except RateLimited as error:
            raise RateLimitRetry(str(error), delay=rate_limit_delay_ms(error)) from error

    return wrapper


@dataclass(frozen=True)
class Actors:
    """The declared actors of one broker; ``send`` on each, or the helpers below."""

    broker: dramatiq.Broker
    process_shop_event: dramatiq.Actor[[int], None]
    process_picqer_event: dramatiq.Actor[[int], None]
    push_shop_order: dramatiq.Actor[[str, str], None]
    report_fulfilment: dramatiq.Actor[[int], None]
    poll_source: dramatiq.Actor[[str], None]
    reconcile: dramatiq.Actor[[str | None], None]
    record_dead_letter: dramatiq.Actor[[str, list[Any], dict[str, Any], str], None]

    def enqueue_inbox(self, source: str, inbox_id: int) -> None:
        """Enqueue the processing of a stored webhook (the receiver's and the sweeper's ``enqueue``)."""
        if source == PICQER_INBOX_SOURCE:
            self.process_picqer_event.send(inbox_id)
        else:
            self.process_shop_event.send(inbox_id)

    def enqueue_reconcile(self, since: datetime | None) -> None:
        self.reconcile.send(since.isoformat() if since is not None else None)


class ActorFollowUps:
    """The follow-up work a handler hands back to the queue, as messages of these actors."""

    def __init__(self, actors: Actors) -> None:
        self._actors = actors

    def report_fulfilment(self, order_row_id: int, *, delay_ms: int | None = None) -> None:
        self._actors.report_fulfilment.send_with_options(args=(order_row_id,), delay=delay_ms)

    def push_shop_order(self, source: str, shop_order_id: str) -> None:
        self._actors.push_shop_order.send(source, shop_order_id)


def declare_actors(broker: dramatiq.Broker, handlers: Handlers, *, queue_name: str = QUEUE_NAME) -> Actors:
    """Declare every actor on ``broker`` (never on dramatiq's implicit global broker)."""

    def declare(fn: Callable[..., None], options: ActorOptions) -> Any:
        decorator = dramatiq.actor(
            actor_name=fn.__name__,
            queue_name=queue_name,
            broker=broker,
            throws=THROWS,
            **options.as_kwargs(),
        )
        return decorator(_waits_out_429s(fn))

    def process_shop_event(inbox_id: int) -> None:
        handlers.process_shop_event(inbox_id)

    def process_picqer_event(inbox_id: int) -> None:
        handlers.process_picqer_event(inbox_id)

    def push_shop_order(source: str, shop_order_id: str) -> None:
        handlers.push_shop_order(source, shop_order_id)

    def report_fulfilment(order_row_id: int) -> None:
        handlers.report_fulfilment(order_row_id)

    def poll_source(source: str) -> None:
        handlers.poll_source(source)

    def reconcile(since_iso: str | None) -> None:
        handlers.reconcile(datetime.fromisoformat(since_iso) if since_iso else None)

    def record_dead_letter(actor_name: str, args: list[Any], kwargs: dict[str, Any], reason: str) -> None:
        handlers.record_dead_letter(actor_name, args, kwargs, reason)

    assert record_dead_letter.__name__ == DEAD_LETTER_ACTOR
    return Actors(
        broker=broker,
        process_shop_event=declare(process_shop_event, EVENT_OPTIONS),
        process_picqer_event=declare(process_picqer_event, EVENT_OPTIONS),
        push_shop_order=declare(push_shop_order, EVENT_OPTIONS),
        report_fulfilment=declare(report_fulfilment, FULFILMENT_OPTIONS),
        poll_source=declare(poll_source, SWEEP_OPTIONS),
        reconcile=declare(reconcile, SWEEP_OPTIONS),
        record_dead_letter=declare(record_dead_letter, DEAD_LETTER_OPTIONS),
    )
