"""The seam between the client and the shared request budget, and the rate-limit reading it feeds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

LIMIT_HEADER = "X-RateLimit-Limit"
REMAINING_HEADER = "X-RateLimit-Remaining"


@dataclass(frozen=True)
class RateLimitState:
    """Picqer's ``X-RateLimit-Limit`` / ``X-RateLimit-Remaining`` of the last response (None: not sent)."""

    limit: int | None = None
    remaining: int | None = None

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> RateLimitState:
        return cls(limit=_int_header(headers, LIMIT_HEADER), remaining=_int_header(headers, REMAINING_HEADER))


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw.strip()))
    except ValueError:
        return None


class RequestBudget(Protocol):
    """Paces every process's requests to one Picqer account (implemented in ``worker/infra/budget.py``).

    The client is synchronous: a thread calls ``acquire``, sends, and calls ``observe`` with the
    answer before it acquires again, so a budget may hold "this thread's request" between the two
    (it keeps the request's slot until its answer: Picqer counted it somewhere in between).
    """

    def acquire(self) -> None:
        """Block until one more request may be sent, and take its slot."""

    def observe(self, *, limit: int | None, remaining: int | None) -> None:
        """Called by the same thread after each response (429s too), with Picqer's rate-limit headers."""

    def penalise(self, retry_after: float) -> None:
        """Called after a 429: nobody sends for this long."""
