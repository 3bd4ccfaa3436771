"""State that every worker process of one deployment shares about a shop: its access token, its
GraphQL cost bucket.

The worker opens a new source object per message and may run as a fleet of processes; a Shopify
token fetched by one of them, or a cost bucket one of them drained, matters to all of them. The
adapters reach that state through :class:`SharedStore`, a key-value store with expiry. The default,
:data:`MEMORY_STORE`, shares it between the sources of one process; the worker passes a Redis-backed
store (``shared=`` of every ``OrderSource``) when it runs on Redis.

Keys the Shopify adapter uses (each value is text; ``{shop}`` is the shop URL without the scheme,
``{app}`` the first 16 hex digits of sha256(shop URL + client ID), so no secret is in a key):

* ``shopify:token:{app}``: the client-credentials access token, kept until shortly before Shopify
  says it expires (the ``ttl``);
* ``shopify:token-lock:{app}``: held (``add``) by the one process fetching a new token, a few
  seconds; the others wait for ``shopify:token:{app}`` to appear instead of asking too;
* ``shopify:cost:{shop}``: the last GraphQL ``throttleStatus`` seen, as JSON
  ``{"available": float, "maximum": float, "restore": float, "at": epoch seconds}``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final, Protocol


class SharedStore(Protocol):
    """Text values by key, each with an expiry. Every method is safe to call from many threads.

    A Redis implementation is one command each: ``get`` = ``GET``, ``set`` = ``SET key value PX ms``,
    ``add`` = ``SET key value NX PX ms`` (True when it was set), ``delete(key, value=v)`` = delete
    only while the key still holds ``v`` (a two-line Lua script), ``delete(key)`` = ``DEL``.
    Callers namespace their keys; an implementation may prefix them further.
    """

    def get(self, key: str) -> str | None:
        """The value, or None when absent or expired."""
        ...

    def set(self, key: str, value: str, *, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds, replacing what was there."""
        ...

    def add(self, key: str, value: str, *, ttl: float) -> bool:
        """Store ``value`` for ``ttl`` seconds only if the key is absent; True when stored."""
        ...

    def delete(self, key: str, *, value: str | None = None) -> None:
        """Forget the key; with ``value``, only while it still holds that value (compare-and-delete:
        a process that saw a token refused must not drop the newer one another process stored)."""
        ...


class MemoryStore:
    """A :class:`SharedStore` in this process's memory (shared by its threads and sources)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key)

    def set(self, key: str, value: str, *, ttl: float) -> None:
        with self._lock:
            self._values[key] = (value, self._clock() + ttl)

    def add(self, key: str, value: str, *, ttl: float) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._values[key] = (value, self._clock() + ttl)
            return True

    def delete(self, key: str, *, value: str | None = None) -> None:
        with self._lock:
            if value is None or self._live(key) == value:
                self._values.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def _live(self, key: str) -> str | None:
        held = self._values.get(key)
        if held is None:
            return None
        if held[1] <= self._clock():
            del self._values[key]
            return None
        return held[0]


# the process-wide default: sources built without ``shared=`` share tokens and buckets through it
MEMORY_STORE: Final = MemoryStore()
