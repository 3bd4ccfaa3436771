"""One process at a time for a one-off Picqer job that every worker process needs the result of.

A fresh deployment's worker processes all want the Picqer index imported and the tag list read
at once. Each doing it itself costs the same requests N times (and two processes creating one
missing tag make two tags of one title), so they take a lease in the store they share
(``SyncContext.shop_state``, Redis): the one that holds it does the job and stores the result (in
the mirror, or in the store), the others wait for the lease to go and then read that result.

The lease saves requests; it never decides correctness. It is ``SET NX PX`` with a random token,
renewed by its holder as the job advances, so a killed holder's lease is free within
``LEASE_TTL_SECONDS``; a holder that loses it anyway (paused past the expiry) lets a second
process do the same job, which costs requests and nothing else. Without a shared store (one
process: ``run``, the foreground commands) the lease is a no-op: the caller's own lock serialises
its threads.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from adapters.shared import SharedStore
from worker.errors import RetriableError

# a killed holder's lease is free within this long; a living one renews it at each step (a page of
# the import, a refresh). Every worker process that needs the job waits for it, so this is how long a
# killed holder stalls them all: `make chaos` (a worker SIGKILLed every 5-10 s) recovered in 50 s with
# 60 s here. A holder slower than this between two steps loses the lease and a second process does
# the same job, which costs requests, never correctness.
LEASE_TTL_SECONDS = 10.0
# how long a process waits for another's job before it gives up for now (a retriable error): a
# worker thread waits here, so not for long
LEASE_WAIT_SECONDS = 20.0
POLL_SECONDS = 0.05


class LeaseBusy(RetriableError):
    """Another worker process has held the lease for longer than we wait; try again later."""


class Lease:
    """The lease this process holds (or a stand-in when there is no shared store)."""

    def __init__(self, store: SharedStore | None, key: str, token: str, ttl: float) -> None:
        self._store = store
        self._key = key
        self._token = token
        self._ttl = ttl

    def renew(self) -> None:
        """Extend the lease by its whole time-to-live, while it is still ours."""
        if self._store is not None and self._store.get(self._key) == self._token:
            self._store.set(self._key, self._token, ttl=self._ttl)


@contextmanager
def hold_lease(
    store: SharedStore | None,
    key: str,
    *,
    ttl: float = LEASE_TTL_SECONDS,
    wait: float = LEASE_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Lease]:
    """Hold ``key`` in ``store`` for the block, waiting up to ``wait`` seconds for another holder;
    then ``LeaseBusy``. The caller reads what the other holder stored before it does the job."""
    token = uuid.uuid4().hex
    if store is None:
        yield Lease(None, key, token, ttl)
        return
    deadline = time.monotonic() + wait
    while not store.add(key, token, ttl=ttl):
        if time.monotonic() >= deadline:
            raise LeaseBusy(f"{key} is held by another worker process")
        sleep(POLL_SECONDS)
    try:
        yield Lease(store, key, token, ttl)
    finally:
        store.delete(key, value=token)  # only while it is still ours
