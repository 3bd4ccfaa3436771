"""The Picqer request budget: one sliding window per account, shared by every thread and process.

Picqer allows about 500 requests a minute per API key and ignores (429s) whatever goes over. Each
worker pacing itself would still storm 429s together, so all of them draw from one budget:

* ``acquire()`` waits until fewer than ``limit`` requests are in the last ``window`` seconds (a
  sliding-window log: "at most N in any window", whatever the phase of Picqer's own window) and
  takes a slot, stamped with the time it was taken;
* ``observe(limit=, remaining=)``, called with the answer, moves the calling thread's slot to the
  time of the answer, plus ``margin``. Picqer counts a request when it arrives, somewhere between
  our ``acquire`` and its answer; stamped at the answer, our slot leaves the window no sooner than
  Picqer's, so the budget can use the whole limit (no headroom below it) and never runs ahead of
  Picqer's window. A slot whose request failed before an answer (a timeout) is moved when its
  thread next acquires: later than Picqer can have counted it. The client is synchronous, one
  request per thread at a time, so "the thread's slot" is the request just answered;
* ``observe`` also trusts Picqer over our count: a lower ``X-RateLimit-Limit`` lowers our limit for
  a while, and when Picqer says fewer remain than our window thinks, the difference is filled with
  placeholder entries so everyone slows down (another client may share the key);
* ``penalise(retry_after)``: after a 429, nobody sends until the penalty has passed.

Where the throughput went before (issue 12, 0.90 of limit / requests per order): a 5 % headroom
below the limit, needed only because slots were stamped when taken; and the one-off requests of a
cold start (the Picqer index's import, the tag list), which ``make bench`` now reports apart.

``RedisRequestBudget`` keeps the window in Redis (Lua, so each step is atomic; Redis's own clock, so
hosts need not agree on the time); ``LocalRequestBudget`` keeps it in memory for the single-process
``run``.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from worker import metrics
from worker.config import PicqerSettings
from worker.infra.redis import DEFAULT_NAMESPACE

DEFAULT_WINDOW_SECONDS = 60.0
# a fraction of the limit left unused; 0: answer-stamped slots already keep us behind Picqer's window
DEFAULT_HEADROOM = 0.0
# how long past its answer a slot stays in the window: slack for a Picqer that counts a little
# differently (in whole seconds, say) than its documented sliding minute; costs margin / window
# of the throughput (0.4 % at a minute)
DEFAULT_MARGIN_SECONDS = 0.25
# how long a lower X-RateLimit-Limit from Picqer overrides the configured one ("dynamically adjusted")
OBSERVED_LIMIT_TTL_SECONDS = 600.0
MAX_SLEEP_SECONDS = 1.0  # wake up at least this often, so a shrunken window or a penalty is seen soon

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: window, penalty, observed limit. ARGV: configured limit, window ms, member, member to
# settle ('' for none), margin ms. Returns wait ms (0: the slot ``member`` is taken).
_ACQUIRE = (
    _NOW_MS
    + """
local window = tonumber(ARGV[2])
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[5]), ARGV[4]) end
local penalty = tonumber(redis.call('GET', KEYS[2]) or '0')
if penalty > now then return penalty - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local limit = tonumber(ARGV[1])
local observed = tonumber(redis.call('GET', KEYS[3]) or '0')
if observed > 0 and observed < limit then limit = observed end
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + tonumber(ARGV[5]))
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return wait
"""
)

# KEYS: window, observed limit. ARGV: effective limit (0: unknown), used per Picqer (-1: unknown),
# window ms, limit ttl ms, member prefix, member to settle ('' for none), margin ms.
_OBSERVE = (
    _NOW_MS
    + """
local window = tonumber(ARGV[3])
if ARGV[6] ~= '' then
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[7]), ARGV[6])
  redis.call('PEXPIRE', KEYS[1], window + tonumber(ARGV[7]))
end
local effective = tonumber(ARGV[1])
if effective > 0 then redis.call('SET', KEYS[2], effective, 'PX', ARGV[4]) end
local used = tonumber(ARGV[2])
if used < 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local missing = used - redis.call('ZCARD', KEYS[1])
for i = 1, missing do redis.call('ZADD', KEYS[1], now, ARGV[5] .. ':' .. i) end
if missing > 0 then redis.call('PEXPIRE', KEYS[1], window + tonumber(ARGV[7])) end
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


class _HeldSlot(threading.local):
    """The slot this thread took for the request it is sending (None once it is answered)."""

    member: str | None = None


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
        margin_seconds: float = DEFAULT_MARGIN_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._keys = (key, f"{key}:penalty", f"{key}:limit")
        self._window_ms = int(window_seconds * 1000)
        self._margin_ms = int(margin_seconds * 1000)
        self._headroom = headroom
        self._limit = effective_limit(requests_per_minute, headroom)
        self._sleep = sleep
        self._held = _HeldSlot()
        self._acquire = client.register_script(_ACQUIRE)
        self._observe = client.register_script(_OBSERVE)
        self._penalise = client.register_script(_PENALISE)

    def acquire(self) -> None:
        started = time.monotonic()
        member = uuid.uuid4().hex
        while True:
            unsettled, self._held.member = self._held.member or "", None
            args = [self._limit, self._window_ms, member, unsettled, self._margin_ms]
            wait_ms = int(self._acquire(keys=list(self._keys), args=args))
            if wait_ms <= 0:
                break
            self._sleep(_nap(wait_ms / 1000))
        self._held.member = member
        metrics.BUDGET_WAIT.observe(time.monotonic() - started)

    def observe(self, *, limit: int | None, remaining: int | None) -> None:
        effective = effective_limit(limit, self._headroom) if limit else 0
        used = _picqer_used(limit, remaining)
        settle, self._held.member = self._held.member or "", None
        if effective == 0 and used < 0 and not settle:
            return
        ttl_ms = int(OBSERVED_LIMIT_TTL_SECONDS * 1000)
        self._observe(
            keys=[self._keys[0], self._keys[2]],
            args=[
                effective,
                used,
                self._window_ms,
                ttl_ms,
                f"observed:{uuid.uuid4().hex}",
                settle,
                self._margin_ms,
            ],
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
        margin_seconds: float = DEFAULT_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._limit = effective_limit(requests_per_minute, headroom)
        self._headroom = headroom
        self._window = window_seconds
        self._margin = margin_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # slot -> the time it entered the window (thousands when the limit is high: a resync into an
        # unlimited Picqer), and the same as a heap of (time, slot), oldest first, so expiring and
        # finding the oldest read only what leaves instead of every slot on every acquire. A slot's
        # time moves (``_settle``) by pushing it again: an entry whose time is no longer the slot's
        # is stale and skipped
        self._sent: dict[int, float] = {}
        self._by_time: list[tuple[float, int]] = []
        self._ids = itertools.count()
        self._held = _HeldSlot()
        self._penalty_until = 0.0
        self._observed_limit = 0
        self._observed_until = 0.0

    def _try_acquire(self) -> float:
        """Take a slot and return 0, or return how long to wait (seconds)."""
        with self._lock:
            now = self._clock()
            self._settle(now)
            if self._penalty_until > now:
                return self._penalty_until - now
            self._expire(now)
            limit = self._limit
            if self._observed_limit and self._observed_until > now:
                limit = min(limit, self._observed_limit)
            if len(self._sent) < limit:
                slot = next(self._ids)
                self._stamp(slot, now)
                self._held.member = str(slot)
                return 0.0
            return max(0.001, self._oldest() + self._window - now)

    def _settle(self, now: float) -> None:
        """Move this thread's slot to ``now`` (+ margin): its request has been answered (or failed)."""
        held, self._held.member = self._held.member, None
        if held is not None and int(held) in self._sent:
            self._stamp(int(held), now + self._margin)

    def _stamp(self, slot: int, stamp: float) -> None:
        self._sent[slot] = stamp
        heapq.heappush(self._by_time, (stamp, slot))

    def _drop_stale(self) -> None:
        while self._by_time and self._sent.get(self._by_time[0][1]) != self._by_time[0][0]:
            heapq.heappop(self._by_time)

    def _oldest(self) -> float:
        self._drop_stale()
        return self._by_time[0][0]

    def _expire(self, now: float) -> None:
        self._drop_stale()
        while self._by_time and self._by_time[0][0] <= now - self._window:
            _, slot = heapq.heappop(self._by_time)
            del self._sent[slot]  # the top is never stale here: _drop_stale ran before
            self._drop_stale()

    def acquire(self) -> None:
        started = time.monotonic()
        while (wait := self._try_acquire()) > 0:
            self._sleep(_nap(wait))
        metrics.BUDGET_WAIT.observe(time.monotonic() - started)

    def observe(self, *, limit: int | None, remaining: int | None) -> None:
        with self._lock:
            now = self._clock()
            self._settle(now)
            if limit:
                self._observed_limit = effective_limit(limit, self._headroom)
                self._observed_until = now + OBSERVED_LIMIT_TTL_SECONDS
            used = _picqer_used(limit, remaining)
            self._expire(now)
            for _ in range(max(0, used - len(self._sent))):
                self._stamp(next(self._ids), now)

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
