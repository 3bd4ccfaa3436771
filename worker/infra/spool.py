"""The webhook spool (``worker.sync.spool.WebhookSpool``) in Redis, under ``<redis_namespace>:``.

Three keys: a hash of entries (field: a digest of source and event key, so a sender's retry of a
spooled webhook is one entry), a sorted set of the same fields by arrival (the drain moves the
oldest first) and the drain lock (``SET NX PX`` with a token; renewed and released only by its
holder, through one Lua script each). A put writes both structures in one MULTI/EXEC.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from worker.logging import get_logger
from worker.sync.spool import SpooledEvent

log = get_logger(__name__)

DRAIN_LOCK_SECONDS = 10.0  # a drain that died frees the spool for another process after this

# extend or delete the lock only while it still holds the caller's token
_RENEW_IF_HOLDS: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_DELETE_IF_HOLDS: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def entry_id(source: str, event_key: str) -> str:
    """The spool's key of an event: the inbox's unique (source, event key), digested."""
    return hashlib.sha256(f"{source}\n{event_key}".encode("utf-8", "surrogatepass")).hexdigest()


class RedisDrainLock:
    def __init__(self, spool: RedisWebhookSpool, token: str) -> None:
        self._spool = spool
        self._token = token

    def renew(self) -> None:
        self._spool.renew_lock(self._token)


class RedisWebhookSpool:
    """:class:`worker.sync.spool.WebhookSpool` on a redis-py client (or fakeredis in tests)."""

    def __init__(self, client: Any, *, namespace: str, lock_seconds: float = DRAIN_LOCK_SECONDS) -> None:
        self._client = client
        prefix = f"{namespace}:webhook-spool"
        self.entries_key = f"{prefix}:entries"
        self.order_key = f"{prefix}:order"
        self.lock_key = f"{prefix}:drain-lock"
        self.lock_ms = max(1, int(lock_seconds * 1000))
        self._renew = client.register_script(_RENEW_IF_HOLDS)
        self._release = client.register_script(_DELETE_IF_HOLDS)

    def renew_lock(self, token: str) -> None:
        """Hold the drain lock for another full term, if ``token`` still holds it."""
        self._renew(keys=[self.lock_key], args=[token, self.lock_ms])

    def put(self, event: SpooledEvent) -> bool:
        key = entry_id(event.source, event.event_key)
        pipe = self._client.pipeline(transaction=True)
        pipe.hsetnx(self.entries_key, key, event.to_json())
        pipe.zadd(self.order_key, {key: time.time()}, nx=True)
        added, _ = pipe.execute()
        return bool(added)

    def peek(self, limit: int) -> list[tuple[str, SpooledEvent | None]]:
        keys = [_text(key) for key in self._client.zrange(self.order_key, 0, max(0, limit - 1))]
        if not keys:
            return []
        values = self._client.hmget(self.entries_key, keys)
        found: list[tuple[str, SpooledEvent | None]] = []
        for key, value in zip(keys, values, strict=True):
            if value is None:
                # its entry was removed after we read the order (another drain): tidy the order
                self._client.zrem(self.order_key, key)
                continue
            try:
                found.append((key, SpooledEvent.from_json(value)))
            except (ValueError, KeyError, TypeError):
                found.append((key, None))
        return found

    def remove(self, entry_id: str) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.hdel(self.entries_key, entry_id)
        pipe.zrem(self.order_key, entry_id)
        pipe.execute()

    def size(self) -> int:
        return int(self._client.zcard(self.order_key))

    @contextmanager
    def drain_lock(self) -> Iterator[RedisDrainLock | None]:
        token = uuid.uuid4().hex
        if not self._client.set(self.lock_key, token, nx=True, px=self.lock_ms):
            yield None
            return
        try:
            yield RedisDrainLock(self, token)
        finally:
            try:
                self._release(keys=[self.lock_key], args=[token])
            except Exception as error:  # it expires by itself
                log.warning("webhook_spool_lock_not_released", error_type=type(error).__name__)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
