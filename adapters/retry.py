"""The one retry policy: which errors are tried again, how long to wait, and when to stop.

Who retries, and why (written down here once):

* **The shop clients retry** each request themselves (:meth:`adapters.source.OrderSource.send`):
  a shop's 429 or 5xx is about one GET of a listing that may be page 40 of 60; throwing the page
  away and starting the whole poll again later would cost far more than a short wait now.
* **Picqer's client never retries** (:mod:`adapters.picqer.connection`): its writes are the ones
  that must happen exactly once, and whether a create may be repeated depends on what the mirror
  knows (look the order up by ``reference`` first), which only the use case above it can decide.
  The worker retries a whole unit of work instead: a Dramatiq message, or in the foreground
  commands (``push``, ``resync``, ``reconcile`` pages) :func:`call_with_retries` around the use case.
* **A 429 spends no attempt** (the request was refused before anything happened; it waits the time
  the API asked for), but an account stuck at its limit still ends after ``max_rate_limit_waits``.
* **Every policy is bounded in total time** (``total_seconds``): a call made inside a Dramatiq actor
  must give up before the actor's ``time_limit`` kills it, so ``total_seconds`` plus one request's
  timeout stays below that limit (``tests/queue`` checks the sums).

Built on tenacity: the waits, the stop conditions and the log line are declared, not looped by hand.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception_type, retry_if_not_exception_type

from adapters.errors import RateLimited, RetriableError

log = structlog.get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how long one call is tried again."""

    attempts: int = 5  # tries in all, counting the first, of failures other than 429
    max_rate_limit_waits: int = 20  # 429s waited out before giving up
    total_seconds: float = 60.0  # no retry is started once this much time has passed
    min_backoff: float = 0.5  # seconds; the backoff doubles per failure, with full jitter
    max_backoff: float = 30.0

    def backoff(self, failures: int) -> float:
        """The wait after the ``failures``-th failure: exponential, with full jitter so that many
        workers hitting the same outage do not come back in step."""
        return float(random.uniform(0, min(self.max_backoff, self.min_backoff * 2**failures)))


# one shop request (a page, an order, a fulfilment); made inside actors whose time limit is 2 min
SHOP_REQUEST: Final = RetryPolicy(attempts=5, total_seconds=60.0)
# one unit of sync work in a foreground command (push, resync, a reconcile page): a person waits
FOREGROUND: Final = RetryPolicy(attempts=5, total_seconds=300.0)


def call_with_retries(
    work: Callable[[], T],
    *,
    policy: RetryPolicy = FOREGROUND,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    retry_on: tuple[type[BaseException], ...] = (RetriableError,),
    give_up_on: tuple[type[BaseException], ...] = (),
    event: str = "retrying",
    **log_context: object,
) -> T:
    """``work()``, tried again on ``retry_on`` (but never on ``give_up_on``) as ``policy`` says.

    Raises the last error when the policy says stop. A shop client passes ``OutcomeUnknown`` as
    ``give_up_on``: a write that may have happened is resolved by looking, not by sending it again.
    """
    counts = {"failures": 0, "rate_limit_waits": 0}
    started = clock()

    def wait(state: RetryCallState) -> float:  # tenacity asks this first, then ``stop``
        error = _error(state)
        if isinstance(error, RateLimited):
            counts["rate_limit_waits"] += 1
            return max(0.0, error.retry_after)
        counts["failures"] += 1
        return policy.backoff(counts["failures"])

    def stop(state: RetryCallState) -> bool:
        spent = (
            counts["failures"] >= policy.attempts or counts["rate_limit_waits"] > policy.max_rate_limit_waits
        )
        # no retry whose wait would end past the bound: the caller's own limit comes after it
        return spent or clock() - started + state.upcoming_sleep > policy.total_seconds

    def before_sleep(state: RetryCallState) -> None:
        error = _error(state)
        log.info(
            event,
            reason=getattr(error, "reason", type(error).__name__),
            status=getattr(error, "status", None),
            attempt=state.attempt_number,
            wait_seconds=round(state.upcoming_sleep, 2),
            **log_context,
        )

    retrying = Retrying(
        retry=retry_if_exception_type(retry_on) & retry_if_not_exception_type(give_up_on),
        wait=wait,
        stop=stop,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(work)


def _error(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None
