"""The Picqer request budget: one sliding window per account, shared by every thread and process.

Picqer allows about 500 requests a minute per API key and ignores (429s) whatever goes over. Each
worker pacing itself would still storm 429s together, so all of them draw from one budget:

* ``acquire()`` waits until fewer than ``limit`` requests were sent in the last ``window`` seconds
  (a sliding-window log: "at most N in any window", whatever the phase of Picqer's own window);
* ``observe(limit=, remaining=)`` trusts Picqer over our count: a lower ``X-RateLimit-Limit`` lowers
  our limit for a while, and when Picqer says fewer remain than our window thinks, the difference is
  filled with placeholder entries so everyone slows down (another client may share the key);
* ``penalise(retry_after)``: after a 429, nobody sends until the penalty has passed.

``RedisRequestBudget`` keeps the window in Redis (Lua, so each step is atomic; Redis's own clock, so
hosts need not agree on the time); ``LocalRequestBudget`` keeps it in memory for the single-process
``run``. Both keep ``headroom`` (5 %) below the limit: a request acquired at the very end of our
window can reach Picqer a little later than the one that opened it.
"""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from worker import metrics
from worker.config import PicqerSettings
from worker.infra.redis import DEFAULT_NAMESPACE

DEFAULT_WINDOW_SECONDS = 60.0
DEFAULT_HEADROOM = 0.05
# how long a lower X-RateLimit-Limit from Picqer overrides the configured one ("dynamically adjusted")
OBSERVED_LIMIT_TTL_SECONDS = 600.0
MAX_SLEEP_SECONDS = 1.0  # wake up at least this often, so a shrunken window or a penalty is seen soon

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: window, penalty, observed limit. ARGV: configured limit, window ms, member. Returns wait ms.
_ACQUIRE = (
    _NOW_MS
    + """
local penalty = tonumber(redis.call('GET', KEYS[2]) or '0')
if penalty > now then return penalty - now end
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local limit = tonumber(ARGV[1])
local observed = tonumber(redis.call('GET', KEYS[3]) or '0')
if observed > 0 and observed < limit then limit = observed end
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return wait
"""
)

# KEYS: window, observed limit. ARGV: effective limit (0: unknown), used per Picqer (-1: unknown),
# window ms, limit ttl ms, member prefix.
_OBSERVE = (
    _NOW_MS
    + """
local window = tonumber(ARGV[3])
local effective = tonumber(ARGV[1])
if effective > 0 then redis.call('SET', KEYS[2], effective, 'PX', ARGV[4]) end
local used = tonumber(ARGV[2])
if used < 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local missing = used - redis.call('ZCARD', KEYS[1])
for i = 1, missing do redis.call('ZADD', KEYS[1], now, ARGV[5] .. ':' .. i) end
if missing > 0 then redis.call('PEXPIRE', KEYS[1], window) end
return missing
"""
)

# KEYS: penalty. ARGV: penalty ms. The penalty only ever grows.
_PENALISE = (
    _NOW_MS
    + """
local ms = tonumber(ARGV[1])
local until_ = now + ms
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then redis.call('SET', KEYS[1], until_, 'PX', ms) end
return until_
"""
)


def account_key(picqer_url: str, namespace: str = DEFAULT_NAMESPACE) -> str:
    """``<namespace>:budget:<host>``: every process talking to one account shares the window."""
    host = urlsplit(picqer_url).netloc.lower() or picqer_url
    return f"{namespace}:budget:{host}"


def effective_limit(limit: int, headroom: float) -> int:
    return max(1, math.floor(limit * (1 - headroom)))


def _picqer_used(limit: int | None, remaining: int | None) -> int:
    if limit is None or remaining is None:
        return -1
    return max(0, limit - remaining)


class RedisRequestBudget:
    """The budget in Redis, shared by every process that uses the same Redis and Picqer account."""

    def __init__(
        self,
        client: Any,
        *,
        key: str,
        requests_per_minute: int,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        headroom: float = DEFAULT_HEADROOM,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._keys = (key, f"{key}:penalty", f"{key}:limit")
        self._window_ms = int(window_seconds * 1000)
        self._headroom = headroom
        self._limit = effective_limit(requests_per_minute, headroom)
        self._sleep = sleep
        self._acquire = client.register_script(_ACQUIRE)
        self._observe = client.register_script(_OBSERVE)
        self._penalise = client.register_script(_PENALISE)

    def acquire(self) -> None:
        started = time.monotonic()
        while True:
            member = uuid.uuid4().hex
            wait_ms = int(self._acquire(keys=list(self._keys), args=[self._limit, self._window_ms, member]))
            if wait_ms <= 0:
                break
            self._sleep(_nap(wait_ms / 1000))
        metrics.BUDGET_WAIT.observe(time.monotonic() - started)

    def observe(self, *, limit: int | None, remaining: int | None) -> None:
        effective = effective_limit(limit, self._headroom) if limit else 0
        used = _picqer_used(limit, remaining)
        if effective == 0 and used < 0:
            return
        ttl_ms = int(OBSERVED_LIMIT_TTL_SECONDS * 1000)
        self._observe(
            keys=[self._keys[0], self._keys[2]],
            args=[effective, used, self._window_ms, ttl_ms, f"observed:{uuid.uuid4().hex}"],
        )

    def penalise(self, retry_after: float) -> None:
        metrics.RATE_LIMITED.inc()
        self._penalise(keys=[self._keys[1]], args=[max(1, int(retry_after * 1000))])


class LocalRequestBudget:
    """The same budget for the threads of one process (the in-process ``run``)."""

    def __init__(
        self,
        *,
        requests_per_minute: int,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        headroom: float = DEFAULT_HEADROOM,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._limit = effective_limit(requests_per_minute, headroom)
        self._headroom = headroom
        self._window = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self._penalty_until = 0.0
        self._observed_limit = 0
        self._observed_until = 0.0

    def _try_acquire(self) -> float:
        """Take a slot and return 0, or return how long to wait (seconds)."""
        with self._lock:
            now = self._clock()
            if self._penalty_until > now:
                return self._penalty_until - now
            self._expire(now)
            limit = self._limit
            if self._observed_limit and self._observed_until > now:
                limit = min(limit, self._observed_limit)
            if len(self._sent) < limit:
                self._sent.append(now)
                return 0.0
            return max(0.001, self._sent[0] + self._window - now)

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self._window:
            self._sent.popleft()

    def acquire(self) -> None:
        started = time.monotonic()
        while (wait := self._try_acquire()) > 0:
            self._sleep(_nap(wait))
        metrics.BUDGET_WAIT.observe(time.monotonic() - started)

    def observe(self, *, limit: int | None, remaining: int | None) -> None:
        with self._lock:
            now = self._clock()
            if limit:
                self._observed_limit = effective_limit(limit, self._headroom)
                self._observed_until = now + OBSERVED_LIMIT_TTL_SECONDS
            used = _picqer_used(limit, remaining)
            self._expire(now)
            self._sent.extend([now] * max(0, used - len(self._sent)))

    def penalise(self, retry_after: float) -> None:
        metrics.RATE_LIMITED.inc()
        with self._lock:
            self._penalty_until = max(self._penalty_until, self._clock() + retry_after)


def _nap(wait: float) -> float:
    # a little jitter so the waiters do not all wake in the same millisecond and race for one slot
    return min(wait, MAX_SLEEP_SECONDS) + random.uniform(0, 0.01)


def make_budget(
    picqer: PicqerSettings,
    *,
    redis_client: Any = None,
    namespace: str = DEFAULT_NAMESPACE,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
) -> RedisRequestBudget | LocalRequestBudget:
    """The budget for this process: in Redis (its key under ``namespace``) when there is one, in
    memory otherwise."""
    if redis_client is not None:
        return RedisRequestBudget(
            redis_client,
            key=account_key(picqer.url, namespace),
            requests_per_minute=picqer.requests_per_minute,
            window_seconds=window_seconds,
        )
    return LocalRequestBudget(requests_per_minute=picqer.requests_per_minute, window_seconds=window_seconds)
