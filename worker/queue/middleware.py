"""Cross-cutting concerns of every actor, as dramatiq middleware.

Order matters: dramatiq calls ``before_*`` hooks in list order and ``after_*`` hooks in reverse
(see :func:`worker.queue.broker.make_broker`). ``DeadLetters`` and ``MessageMetrics`` must see a
message after ``Retries`` has decided whether it failed for good.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

import dramatiq
import structlog
from dramatiq.middleware import Middleware, Retries, TimeLimitExceeded

from worker import metrics
from worker.infra.ingest import IngestPressure
from worker.logging import get_logger
from worker.sync.reasons import failure_reason as sync_failure_reason

log = get_logger(__name__)

DEAD_LETTER_ACTOR = "record_dead_letter"


class RateLimitRetry(dramatiq.Retry):
    """Raised by an actor after a 429: come back after ``delay`` ms (see ``worker.queue.actors``)."""


class AccountRetry(dramatiq.Retry):
    """Raised by an actor when Picqer or the shop refuses our key: come back after ``delay`` ms,
    never counted as a failure (see ``worker.sync.health``)."""


class LockedRetry(dramatiq.Retry):
    """Raised by an actor whose order another worker holds: come back after ``delay`` ms (a second
    or two), not counted as a failure, instead of holding a worker thread while it waits."""


class OutageRetry(dramatiq.Retry):
    """Raised by an actor that could not reach the database or Redis: come back after ``delay`` ms
    (a few seconds), not counted as a failure while the outage is younger than an hour."""


# how long a retry's re-enqueue waits between tries while Redis is away (it holds the worker
# thread, as dramatiq's own acknowledgement does: without Redis there is nothing else to do)
REENQUEUE_PAUSE_SECONDS = (0.5, 2.0)


def _broker_unreachable() -> tuple[type[BaseException], ...]:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (RedisConnectionError, RedisTimeoutError, dramatiq.errors.BrokerConnectionError)


def send_until_taken(
    send: Callable[[], Any],
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """``send()`` again and again while the broker is unreachable, until it takes the message.

    A retry or a dead letter enqueued while Redis is away would otherwise be lost: the worker
    acknowledges the message it came from as soon as Redis is back. If this process dies meanwhile,
    the message was never acknowledged and comes back after the heartbeat timeout.
    """
    unreachable = _broker_unreachable()
    pause = REENQUEUE_PAUSE_SECONDS[0]
    failures = 0
    while True:
        try:
            send()
        except unreachable as error:
            failures += 1
            if failures == 1:
                log.warning("queue_unreachable_waiting", what=what, error_type=type(error).__name__)
            sleep(pause)
            pause = min(pause * 2, REENQUEUE_PAUSE_SECONDS[1])
            continue
        if failures:
            log.info("queue_back", what=what, tries=failures + 1)
        return


class _PatientBroker:
    """The broker as ``Retries`` sees it: its ``enqueue`` waits for an unreachable Redis."""

    def __init__(self, broker: dramatiq.Broker, sleep: Callable[[float], None]) -> None:
        self._broker = broker
        self._sleep = sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(self._broker, name)

    def enqueue(self, message: Any, *, delay: int | None = None) -> Any:
        taken: list[Any] = []
        send_until_taken(
            lambda: taken.append(self._broker.enqueue(message, delay=delay)), what="retry", sleep=self._sleep
        )
        return taken[0]


class DurableRetries(Retries):
    """dramatiq's ``Retries``, whose re-enqueue of a failed message waits out a Redis outage.

    dramatiq logs and drops an error raised in a middleware, then acknowledges the message once
    Redis answers again: a retry enqueued during the outage would be gone. Here it is enqueued as
    soon as Redis answers, before the acknowledgement. ``sleep`` is the pause between tries.
    """

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, **options: Any) -> None:
        super().__init__(**options)  # type: ignore[no-untyped-call]
        self.sleep = sleep

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        super().after_process_message(  # type: ignore[no-untyped-call]
            _PatientBroker(broker, self.sleep), message, result=result, exception=exception
        )


def failure_reason(error: BaseException) -> str:
    """:func:`worker.sync.reasons.failure_reason`, and the words for an actor's time limit."""
    if isinstance(error, TimeLimitExceeded):
        return "took longer than the actor's time limit"
    return sync_failure_reason(error)


class DeadLetters(Middleware):
    """A message that failed for good (retries exhausted or an error in ``throws``): record why.

    Sends only the actor name, its id arguments and the reason to the dead-letter actor, which
    records the order (or inbox event) as failed; a durable message, so a database outage at that
    moment does not lose the failure.
    """

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None or not message.failed or message.actor_name == DEAD_LETTER_ACTOR:
            return
        reason = failure_reason(exception)
        try:
            dead_letter = broker.get_actor(DEAD_LETTER_ACTOR)
        except dramatiq.errors.ActorNotFound:
            log.error("dead_letter_actor_missing", actor=message.actor_name, reason=reason)
            return
        args = (message.actor_name, list(message.args), dict(message.kwargs), reason)
        send_until_taken(lambda: dead_letter.send(*args), what="dead_letter")


class LogContext(Middleware):
    """Binds message id, actor and the actor's (id) arguments to every log line of the message."""

    def __init__(self) -> None:
        self._parameters: dict[str, list[str]] = {}

    def _names(self, broker: dramatiq.Broker, actor_name: str) -> list[str]:
        if actor_name not in self._parameters:
            try:
                fn = broker.get_actor(actor_name).fn
                self._parameters[actor_name] = list(inspect.signature(fn).parameters)
            except (dramatiq.errors.ActorNotFound, TypeError, ValueError):
                self._parameters[actor_name] = []
        return self._parameters[actor_name]

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        structlog.contextvars.clear_contextvars()
        context: dict[str, Any] = {"message_id": message.message_id, "actor": message.actor_name}
        names = self._names(broker, message.actor_name)
        for name, value in zip(names, message.args, strict=False):
            if isinstance(value, str | int | float | bool) or value is None:
                context[name] = value
        context.update(
            {
                key: value
                for key, value in message.kwargs.items()
                if isinstance(value, str | int | float | bool)
            }
        )
        structlog.contextvars.bind_contextvars(**context)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        structlog.contextvars.clear_contextvars()

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        structlog.contextvars.clear_contextvars()


class MessageMetrics(Middleware):
    """Counts outcomes and durations per actor in our Prometheus registry (no exposition server)."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        with self._lock:
            self._started[message.message_id] = time.monotonic()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            started = self._started.pop(message.message_id, None)
        if started is not None:
            metrics.MESSAGE_DURATION.labels(message.actor_name).observe(time.monotonic() - started)
        if exception is None:
            outcome = "done"
        elif message.failed:
            outcome = "failed"
        elif isinstance(exception, RateLimitRetry):
            outcome = "rate_limited"
        elif isinstance(exception, AccountRetry):
            outcome = "account_unavailable"
        elif isinstance(exception, LockedRetry):
            outcome = "locked"
        elif isinstance(exception, OutageRetry):
            outcome = "outage"
        else:
            outcome = "retried"
        metrics.MESSAGES.labels(message.actor_name, outcome).inc()

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        with self._lock:
            self._started.pop(message.message_id, None)


class IngestFirst(Middleware):
    """``run`` only: before each message, wait while the receiver stores a burst of webhooks
    (:mod:`worker.infra.ingest`), so the shops' answers do not queue behind mirror writes."""

    def __init__(self, pressure: IngestPressure) -> None:
        self.pressure = pressure

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self.pressure.hold()
