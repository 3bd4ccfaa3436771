"""The shops' shared state (``adapters.shared.SharedStore``) in Redis, for a fleet of workers.

One Shopify token per app and one GraphQL cost bucket per shop, whichever process fetched or
drained it: each method is one Redis command under ``<redis_namespace>:``, and the
compare-and-delete is one Lua script, so no process drops a token another has just stored.
"""

from __future__ import annotations

from typing import Any, Final

# delete the key only while it still holds the value the caller saw
_DELETE_IF_HOLDS: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def _milliseconds(ttl: float) -> int:
    return max(1, int(ttl * 1000))


class RedisSharedStore:
    """:class:`adapters.shared.SharedStore` on a redis-py client (or fakeredis in tests)."""

    def __init__(self, client: Any, *, namespace: str) -> None:
        self._client = client
        self._prefix = f"{namespace}:"
        self._delete_if_holds = client.register_script(_DELETE_IF_HOLDS)

    def _key(self, key: str) -> str:
        return self._prefix + key

    def get(self, key: str) -> str | None:
        value = self._client.get(self._key(key))
        return value.decode() if isinstance(value, bytes) else value

    def set(self, key: str, value: str, *, ttl: float) -> None:
        self._client.set(self._key(key), value, px=_milliseconds(ttl))

    def add(self, key: str, value: str, *, ttl: float) -> bool:
        return bool(self._client.set(self._key(key), value, nx=True, px=_milliseconds(ttl)))

    def delete(self, key: str, *, value: str | None = None) -> None:
        if value is None:
            self._client.delete(self._key(key))
        else:
            self._delete_if_holds(keys=[self._key(key)], args=[value])
