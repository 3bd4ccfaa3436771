"""Cross-cutting concerns of every actor, as dramatiq middleware.

Order matters: dramatiq calls ``before_*`` hooks in list order and ``after_*`` hooks in reverse
(see :func:`worker.queue.broker.make_broker`). ``RateLimitWaits`` must see a message before
``Retries`` does, ``DeadLetters`` and ``MessageMetrics`` after it.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

import dramatiq
import structlog
from dramatiq.middleware import Middleware, TimeLimitExceeded

from worker import metrics
from worker.errors import SyncError
from worker.logging import get_logger

log = get_logger(__name__)

DEAD_LETTER_ACTOR = "record_dead_letter"
# a message that keeps hitting 429s for this many waits starts spending retries: something is wrong
MAX_RATE_LIMIT_WAITS = 50
MAX_REASON_CHARS = 500


class RateLimitRetry(dramatiq.Retry):
    """Raised by an actor after a 429: come back after ``delay`` ms without spending a retry."""


def failure_reason(error: BaseException) -> str:
    """A short reason a person understands, safe for logs and the status page.

    Our own errors carry a readable reason free of secrets. For anything else only the type is
    kept (and the first line for non-database errors): database errors echo SQL parameters,
    which may hold order data.
    """
    if isinstance(error, SyncError):
        text = error.reason
    elif isinstance(error, TimeLimitExceeded):
        text = "took longer than the actor's time limit"
    elif type(error).__module__.startswith(("sqlalchemy", "psycopg", "sqlite3")):
        text = f"database error ({type(error).__name__})"
    else:
        first_line = (str(error).strip().splitlines() or [""])[0]
        text = f"unexpected {type(error).__name__}" + (f": {first_line}" if first_line else "")
    return text[:MAX_REASON_CHARS]


class RateLimitWaits(Middleware):
    """A 429 is Picqer saying "later", not a failure: give back the retry ``Retries`` will take.

    dramatiq's ``Retries`` counts every exception, ``Retry`` included, against ``max_retries``.
    This runs just before it and lowers the counter by one for a :class:`RateLimitRetry`, so the
    net count is unchanged while ``Retries`` still re-enqueues with the requested delay.
    """

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None:
            return
        message.options["last_error"] = failure_reason(exception)
        if not isinstance(exception, RateLimitRetry):
            return
        waits = int(message.options.get("rate_limit_waits", 0))
        if waits >= MAX_RATE_LIMIT_WAITS:
            return
        message.options["rate_limit_waits"] = waits + 1
        message.options["retries"] = int(message.options.get("retries", 0)) - 1


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
        reason = str(message.options.get("last_error") or failure_reason(exception))
        try:
            dead_letter = broker.get_actor(DEAD_LETTER_ACTOR)
        except dramatiq.errors.ActorNotFound:
            log.error("dead_letter_actor_missing", actor=message.actor_name, reason=reason)
            return
        dead_letter.send(message.actor_name, list(message.args), dict(message.kwargs), reason)


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


class ResourceCleanup(Middleware):
    """Runs a cleanup after every message: database sessions must not outlive the unit of work."""

    def __init__(self, cleanup: Callable[[], None] | None) -> None:
        self._cleanup = cleanup

    def _run(self) -> None:
        if self._cleanup is not None:
            self._cleanup()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        self._run()

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self._run()


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
        else:
            outcome = "retried"
        metrics.MESSAGES.labels(message.actor_name, outcome).inc()

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        with self._lock:
            self._started.pop(message.message_id, None)
