"""Run one unit of sync work now, in the foreground, retrying as the worker's actors would.

For the operator's commands (``push``, ``resync``): a 429 is waited out without spending an attempt,
other retriable errors back off with jitter up to ``attempts``; what still fails comes back as the
last error for the caller to record.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from worker.errors import RateLimited, RetriableError
from worker.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")

DEFAULT_ATTEMPTS = 5
MAX_RATE_LIMIT_WAITS = 20  # a 429 spends no attempt, but an account stuck at its limit must end
MAX_BACKOFF_SECONDS = 30.0


def run_with_retries(
    work: Callable[[], T],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    min_backoff: float = 0.5,
) -> T:
    """``work()``, retried on ``RetriableError``; raises the last error when attempts run out."""
    failures = 0
    rate_limit_waits = 0
    while True:
        try:
            return work()
        except RateLimited as error:
            rate_limit_waits += 1
            if rate_limit_waits > MAX_RATE_LIMIT_WAITS:
                raise
            log.info("rate_limited_waiting", wait_seconds=error.retry_after)
            sleep(error.retry_after)
        except RetriableError as error:
            failures += 1
            if failures >= attempts:
                raise
            wait = random.uniform(min_backoff, min(MAX_BACKOFF_SECONDS, min_backoff * 2**failures))
            log.info("retrying", reason=error.reason, attempt=failures, wait_seconds=round(wait, 2))
            sleep(wait)
