"""Run one unit of sync work now, in the foreground, retrying as the worker's actors would.

For the operator's commands (``push``, ``resync``) and reconcile's listing pages: the policy is
:data:`adapters.retry.FOREGROUND` (a 429 is waited out without spending an attempt, other
retriable errors back off with jitter); what still fails comes back as the last error for the
caller to record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from adapters.retry import FOREGROUND, call_with_retries
from worker.sync.health import AccountUnavailable

T = TypeVar("T")


def run_with_retries(
    work: Callable[[], T],
    *,
    attempts: int = FOREGROUND.attempts,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``work()``, retried on ``RetriableError``; raises the last error when attempts run out.

    A refused key (``AccountUnavailable``) is raised at once: waiting here does not fix it.
    """
    return call_with_retries(
        work,
        policy=replace(FOREGROUND, attempts=attempts),
        sleep=sleep,
        give_up_on=(AccountUnavailable,),
    )
