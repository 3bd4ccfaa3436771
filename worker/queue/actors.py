"""The actors: thin shells over :class:`Handlers` (the use cases), declared on a given broker.

Each actor takes ids (dramatiq logs arguments when a message fails): an inbox row id, a source
name and shop order id, a mirror order id. Never a payload, never a secret. It calls one use case,
counts its outcome, and enqueues the follow-up work the outcome asks for.

Retries are driven by the error tree (``worker/errors.py``), through dramatiq's own ``Retries``:

* ``RateLimited`` -> :class:`RateLimitRetry` (a ``dramatiq.Retry``) after Picqer's wait, with
  jitter; the actor's ``retry_when`` does not count it against ``max_retries``, up to
  ``max_rate_limit_waits`` of them, so a message stuck on 429s still ends;
* ``AccountUnavailable`` (Picqer or the shop refuses our key, see ``worker/sync/health.py``) ->
  :class:`AccountRetry` after ``account_retry_ms``, never counted: the message waits for the key to
  be fixed, however long that takes, and no order is failed for it;
* ``OrderLocked`` (another worker holds the order) -> :class:`LockedRetry` after 1-3 s, not counted,
  up to ``max_lock_waits``: the actors never wait for a lock (``lock_wait(0)``), so a locked order
  holds no worker thread and unrelated orders never queue behind it. A holder keeps an order at most
  an actor's time limit (2 min), or a SIGKILLed one its lease (15 s); the waits allowed last longer;
* the database or Redis unreachable (:func:`is_outage`) -> :class:`OutageRetry` after 2-5 s, not
  counted while the outage seen by this message is younger than ``max_outage_ms`` (an hour), with
  one log line per retry: work sent during an outage goes through within seconds of its end;
* other ``RetriableError`` (and anything unexpected) -> dramatiq's backoff, up to ``max_retries``;
* ``FatalError`` / ``SkippableError`` -> ``throws``: no retry; the use case recorded the reason
  and the dead-letter actor records it again if it did not.

Past its allowance, a 429, a lock or an outage counts as a failure like any other.

Backoffs and limits are ours, not dramatiq's defaults (20 retries over a week, 10 minute limit).
An event or a push (Picqer's 5xx and timeouts, a shop that is down) backs off 2 s, 4 s, 8 s, 16 s,
then between 15 and 30 s each time (dramatiq's jitter: the cap times 0.5-1): once the fault is
gone, every waiting message is tried again within 30 s, where a 15-minute cap used to leave it
waiting up to 15 minutes. ``max_retries`` goes up to match (140 tries of about 22 s), so a message
keeps trying for about as long as before: 35-70 minutes, about 52 on average (it was 33-66, and
52, with 10 tries capped at 15 min); then it is dead-lettered, recorded as failed, and ``failures
retry`` sends it again. During a long Picqer outage that is one request per message every ~22 s,
which the shared request budget paces. Each ``time_limit`` leaves room for a shop request retried as
``adapters.retry.SHOP_REQUEST`` says (``tests/queue`` checks the sums).
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec, Protocol, TypeVar

import dramatiq
import sqlalchemy as sa
from dramatiq.middleware import CurrentMessage
from redis import exceptions as redis_errors

from worker import metrics
from worker.config import Settings
from worker.db.models import utcnow
from worker.errors import FatalError, RateLimited, SkippableError
from worker.infra.locks import OrderLocked, lock_wait
from worker.logging import get_logger
from worker.queue.broker import QUEUE_NAME
from worker.queue.bulk import enqueue_calls
from worker.queue.middleware import (
    DEAD_LETTER_ACTOR,
    AccountRetry,
    LockedRetry,
    OutageRetry,
    RateLimitRetry,
)
from worker.sync.health import ACCOUNT_RETRY_SECONDS, AccountUnavailable
from worker.sync.inbox import PICQER_INBOX_SOURCE
from worker.sync.outcomes import EventOutcome, PushKind, PushOutcome
from worker.sync.repair import Repaired
from worker.sync.shop_events import AppliedShopEvent

log = get_logger(__name__)

THROWS = (FatalError, SkippableError)
SECOND = 1000  # dramatiq counts milliseconds
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
# 429s a message waits out before they count as failures: an account stuck at its limit still ends
MAX_RATE_LIMIT_WAITS = 50
# the default of ``Settings.fulfilment_delay_seconds`` (why the report waits is said there); the
# wiring passes the configured one
FULFILMENT_DELAY_MS = int(Settings.model_fields["fulfilment_delay_seconds"].default * SECOND)
# work that met a refused key comes back after this long, so it resumes within a minute of the fix
ACCOUNT_RETRY_MS = int(ACCOUNT_RETRY_SECONDS * SECOND)
# a locked order comes back after 1-3 s (jittered, so the messages of one order do not come back in
# step); 150 such waits, 150-450 s, outlast any holder: a push holds an order at most its actor's
# 2-minute time limit, a SIGKILLed worker's lease runs out within 15 s
LOCK_RETRY_MS = (1 * SECOND, 3 * SECOND)
MAX_LOCK_WAITS = 150
# the database or Redis unreachable: tried again every 2-5 s, so work resumes within 5 s of the
# outage's end; uncounted for an hour of outage, then each try spends a retry as any failure does
OUTAGE_RETRY_MS = (2 * SECOND, 5 * SECOND)
MAX_OUTAGE_MS = HOUR

P = ParamSpec("P")
R = TypeVar("R")


class Handlers(Protocol):
    """What the actors call: one use case per actor (:class:`worker.sync.handlers.SyncHandlers`)."""

    def process_shop_event(self, inbox_id: int) -> AppliedShopEvent | None: ...

    def process_picqer_event(self, inbox_id: int) -> Sequence[EventOutcome] | None: ...

    def push_shop_order(self, source: str, shop_order_id: str) -> PushOutcome | None: ...

    def report_fulfilment(self, order_row_id: int) -> object: ...

    def poll_source(
        self,
        source: str,
        *,
        defer_push: Callable[[str, str], None],
        on_outcome: Callable[[PushOutcome], None],
    ) -> object: ...

    def reconcile(self, since: datetime | None) -> Repaired | None: ...

    def record_dead_inbox_event(self, inbox_id: int, reason: str) -> PushOutcome | None: ...

    def record_dead_push(self, source: str, shop_order_id: str, reason: str) -> PushOutcome | None: ...

    def record_dead_fulfilment(self, order_row_id: int, reason: str) -> None: ...


@dataclass(frozen=True)
class ActorOptions:
    max_retries: int
    min_backoff: int  # ms
    max_backoff: int  # ms
    time_limit: int  # ms
    max_rate_limit_waits: int = MAX_RATE_LIMIT_WAITS
    max_lock_waits: int = MAX_LOCK_WAITS  # a message may override it (tests)
    max_outage_ms: int = MAX_OUTAGE_MS

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "max_retries": self.max_retries,
            "min_backoff": self.min_backoff,
            "max_backoff": self.max_backoff,
            "time_limit": self.time_limit,
            "retry_when": self.retry_when,
        }

    def retry_when(self, retries: int, error: BaseException) -> bool:
        """dramatiq's ``retry_when``: whether the message that just failed with ``error`` is retried.

        ``retries`` counts every earlier failure, free waits included; the waits that are free (429s,
        a refused key, a locked order, an outage: counted on the message by the actor) are taken
        off again, so only real failures spend ``max_retries`` (the message's own, when it was sent
        with one). The actor raises a ``LockedRetry`` or ``OutageRetry`` only within its allowance.
        """
        if isinstance(error, AccountRetry | LockedRetry | OutageRetry):
            return True  # the account, the lock or the service, not the message: wait for it
        message = CurrentMessage.get_current_message()
        options = message.options if message is not None else {}
        waits = int(options.get("rate_limit_waits", 0))  # this failure included, when a 429
        if isinstance(error, RateLimitRetry):
            if waits <= self.max_rate_limit_waits:
                return True
            waits -= 1  # past the allowance: this 429 spends a retry like any failure
        free = min(waits, self.max_rate_limit_waits) + sum(
            int(options.get(name, 0)) for name in ("account_waits", "lock_waits", "outage_waits")
        )
        return retries - free < int(options.get("max_retries", self.max_retries))


# one event or one order: tried again within 30 s of a fault's end, for about an hour in all
# (2 s, 4 s, 8 s, 16 s, then 15-30 s: see the module docstring)
EVENT_OPTIONS = ActorOptions(
    max_retries=140, min_backoff=2 * SECOND, max_backoff=30 * SECOND, time_limit=2 * MINUTE
)
FULFILMENT_OPTIONS = ActorOptions(
    max_retries=12, min_backoff=15 * SECOND, max_backoff=30 * MINUTE, time_limit=2 * MINUTE
)
# a poll or reconcile walks many pages; the next scheduled run repairs a failed one, so few retries
SWEEP_OPTIONS = ActorOptions(
    max_retries=3, min_backoff=30 * SECOND, max_backoff=5 * MINUTE, time_limit=30 * MINUTE
)
# records in the mirror only (no shop or Picqer request), so a short limit
DEAD_LETTER_OPTIONS = ActorOptions(
    max_retries=20, min_backoff=5 * SECOND, max_backoff=10 * MINUTE, time_limit=MINUTE
)


def rate_limit_delay_ms(error: RateLimited) -> int:
    wait = int(error.retry_after * SECOND)
    # jitter, so the messages that hit the same 429 do not all come back in the same millisecond
    return wait + random.randint(0, max(1, min(SECOND, wait // 5)))


def _count_on_message(option: str) -> int:
    """Add one to the message's ``option`` (read by the actor's ``retry_when``); the new count."""
    message = CurrentMessage.get_current_message()
    if message is None:
        return 1
    message.options[option] = int(message.options.get(option, 0)) + 1
    return int(message.options[option])


def _message_option(name: str, default: int) -> int:
    message = CurrentMessage.get_current_message()
    return int(message.options.get(name, default)) if message is not None else default


def outage_service(error: BaseException) -> str | None:
    """ "database" or "redis" when ``error`` says that service could not be reached (refused, reset,
    timed out, pool exhausted), else None: retrying the same work a few seconds later may succeed."""
    if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError):
        return "database"  # connection refused or lost, a timeout, an exhausted pool, a lock wait
    if isinstance(error, sa.exc.DisconnectionError):
        return "database"
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return "database"
    if isinstance(
        error,
        redis_errors.ConnectionError | redis_errors.TimeoutError | dramatiq.errors.BrokerConnectionError,
    ):
        return "redis"
    return None


def is_outage(error: BaseException) -> bool:
    return outage_service(error) is not None


def _jitter(bounds: tuple[int, int]) -> int:
    return random.randint(bounds[0], max(bounds))


@dataclass(frozen=True)
class Waits:
    """How long the waits that spend no retry last (ms); tests shorten them and set the clock."""

    account_retry_ms: int = ACCOUNT_RETRY_MS
    lock_retry_ms: tuple[int, int] = LOCK_RETRY_MS
    outage_retry_ms: tuple[int, int] = OUTAGE_RETRY_MS
    clock: Callable[[], float] = time.time  # seconds; outages are measured across processes


def _with_waits(fn: Callable[P, R], options: ActorOptions, waits: Waits) -> Callable[P, R]:
    """``fn`` as an actor: never waits for an order lock; turns 429s, a refused key, a locked order
    and an outage into the ``dramatiq.Retry`` that comes back after the right wait."""

    @functools.wraps(fn)  # keeps the name and signature (the log context reads the parameter names)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with lock_wait(0):
                return fn(*args, **kwargs)
        except AccountUnavailable as error:
            _count_on_message("account_waits")
            jitter = random.randint(0, max(1, waits.account_retry_ms // 10))
            raise AccountRetry(error.reason, delay=waits.account_retry_ms + jitter) from error
        except RateLimited as error:
            _count_on_message("rate_limit_waits")
            raise RateLimitRetry(str(error), delay=rate_limit_delay_ms(error)) from error
        except OrderLocked as error:
            if _message_option("lock_waits", 0) >= _message_option("max_lock_waits", options.max_lock_waits):
                raise  # locked for longer than any holder keeps an order: a failure like any other
            _count_on_message("lock_waits")
            delay = _jitter(waits.lock_retry_ms)
            log.info("order_locked_retrying", delay_ms=delay)
            raise LockedRetry(str(error), delay=delay) from error
        except Exception as error:
            service = outage_service(error)
            if service is None:
                raise
            now_ms = int(waits.clock() * SECOND)
            message = CurrentMessage.get_current_message()
            since = int(message.options.setdefault("outage_since", now_ms)) if message else now_ms
            if now_ms - since > options.max_outage_ms:
                raise  # out for longer than an outage we wait for: each try spends a retry now
            tries = _count_on_message("outage_waits")
            delay = _jitter(waits.outage_retry_ms)
            # one line per retry, never the error's text (a database error may quote the URL)
            log.warning(
                "retrying_after_outage",
                service=service,
                error_type=type(error).__name__,
                delay_ms=delay,
                tries=tries,
                outage_seconds=round((now_ms - since) / SECOND, 1),
            )
            raise OutageRetry(f"{service} unreachable ({type(error).__name__})", delay=delay) from error

    return wrapper


def count(outcome: PushOutcome | None, *, received_at: datetime | None = None) -> None:
    """The order metrics of one push (and its latency from the webhook, when there was one)."""
    if outcome is None:
        return
    if outcome.kind is PushKind.PUSHED:
        metrics.ORDERS_PUSHED.labels(outcome.source).inc()
        if received_at is not None:
            metrics.PUSH_LATENCY.labels(outcome.source).observe((utcnow() - received_at).total_seconds())
    elif outcome.kind is PushKind.FAILED:
        metrics.ORDERS_FAILED.labels(outcome.source).inc()


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

    def enqueue_inbox_many(self, stored: Sequence[tuple[str, int]]) -> None:
        """Enqueue the processing of each ``(source, inbox_id)`` at once (the receiver's group
        commits): one Redis round trip for the group; raises when the queue did not take them all."""
        calls = [
            (
                self.process_picqer_event if source == PICQER_INBOX_SOURCE else self.process_shop_event,
                (inbox_id,),
            )
            for source, inbox_id in stored
        ]
        enqueue_calls(self.broker, calls)

    def enqueue_reconcile(self, since: datetime | None) -> None:
        self.reconcile.send(since.isoformat() if since is not None else None)


def declare_actors(
    broker: dramatiq.Broker,
    handlers: Handlers,
    *,
    fulfilment_delay_ms: int = FULFILMENT_DELAY_MS,
    account_retry_ms: int = ACCOUNT_RETRY_MS,
    waits: Waits | None = None,
) -> Actors:
    """Declare every actor on ``broker`` (never on dramatiq's implicit global broker).

    ``fulfilment_delay_ms``: the wait between an order's completion and its fulfilment report
    (``Settings.fulfilment_delay_seconds``; the demo and tests use a short one);
    ``account_retry_ms``: the wait of work that met a refused key; ``waits``: every wait that spends
    no retry, ``account_retry_ms`` included (tests shorten them).
    """
    if waits is None:
        waits = Waits(account_retry_ms=account_retry_ms)

    def declare(fn: Callable[..., None], options: ActorOptions) -> Any:
        decorator = dramatiq.actor(
            actor_name=fn.__name__,
            queue_name=QUEUE_NAME,
            broker=broker,
            throws=THROWS,
            **options.as_kwargs(),
        )
        return decorator(_with_waits(fn, options, waits))

    def process_shop_event(inbox_id: int) -> None:
        applied = handlers.process_shop_event(inbox_id)
        if applied is not None:
            count(applied.outcome, received_at=applied.received_at)

    def process_picqer_event(inbox_id: int) -> None:
        # the message's event and the others applied in its batch (worker/sync/picqer_events.py):
        # each order newly completed by them is reported once, by the thread that applied it
        for outcome in handlers.process_picqer_event(inbox_id) or ():
            if outcome.newly_completed and outcome.order_id is not None:
                actors.report_fulfilment.send_with_options(
                    args=(outcome.order_id,), delay=fulfilment_delay_ms
                )

    def push_shop_order(source: str, shop_order_id: str) -> None:
        count(handlers.push_shop_order(source, shop_order_id))

    def report_fulfilment(order_row_id: int) -> None:
        handlers.report_fulfilment(order_row_id)

    def poll_source(source: str) -> None:
        handlers.poll_source(source, defer_push=defer_push, on_outcome=count)

    def defer_push(source: str, shop_order_id: str) -> None:
        actors.push_shop_order.send(source, shop_order_id)

    def reconcile(since_iso: str | None) -> None:
        repaired = handlers.reconcile(datetime.fromisoformat(since_iso) if since_iso else None)
        if repaired is None:
            return
        for outcome in repaired.resumed:
            count(outcome)
        for order_id in repaired.newly_completed:
            actors.report_fulfilment.send(order_id)

    # what each actor's dead message means for the mirror; polls and reconciles are repaired by
    # their next scheduled run, so the log line is their record
    dead_letter_records: dict[str, Callable[..., PushOutcome | None]] = {
        "process_shop_event": handlers.record_dead_inbox_event,
        "process_picqer_event": handlers.record_dead_inbox_event,
        "push_shop_order": handlers.record_dead_push,
        "report_fulfilment": handlers.record_dead_fulfilment,
    }

    def record_dead_letter(actor_name: str, args: list[Any], kwargs: dict[str, Any], reason: str) -> None:
        log.error("message_dead_lettered", failed_actor=actor_name, reason=reason)
        record = dead_letter_records.get(actor_name)
        if record is not None:
            count(record(*args, reason))

    assert record_dead_letter.__name__ == DEAD_LETTER_ACTOR
    actors = Actors(
        broker=broker,
        process_shop_event=declare(process_shop_event, EVENT_OPTIONS),
        process_picqer_event=declare(process_picqer_event, EVENT_OPTIONS),
        push_shop_order=declare(push_shop_order, EVENT_OPTIONS),
        report_fulfilment=declare(report_fulfilment, FULFILMENT_OPTIONS),
        poll_source=declare(poll_source, SWEEP_OPTIONS),
        reconcile=declare(reconcile, SWEEP_OPTIONS),
        record_dead_letter=declare(record_dead_letter, DEAD_LETTER_OPTIONS),
    )
    return actors
