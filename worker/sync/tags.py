"""Tag titles to Picqer ``idtag``s, resolved once per deployment.

Picqer has no filter to find a tag by title (facts sheet §6.3), so the account's tags are listed
and cached; a title still missing is created and cached too. With a store the worker processes
share (``SyncContext.shop_state``, Redis), the title -> idtag map lives there as well: one process
lists the tags (and creates a missing one) under a lease while the others wait and read its map,
so a fleet starting together lists them once, and two processes never create one title twice.
Without a shared store the tags are listed at most once per process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence

from adapters.picqer.client import PicqerClient
from adapters.shared import SharedStore
from worker.logging import get_logger
from worker.sync.lease import hold_lease

log = get_logger(__name__)

# the shared map: JSON {title: idtag} from a complete listing plus the tags made since
SHARED_TAGS_KEY = "picqer:tags"
SHARED_TAGS_LEASE_KEY = "picqer:tags-lease"
# how long a new process trusts another's listing (a tag deleted in Picqer is noticed sooner: adding
# it answers 404, and the map is dropped)
SHARED_TAGS_TTL_SECONDS = 3600.0


class TagCache:
    """Title -> idtag for one Picqer account; safe to share between threads."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._listed = False
        self._lock = threading.Lock()

    def resolve(
        self, client: PicqerClient, titles: Sequence[str], *, shared: SharedStore | None = None
    ) -> list[int]:
        """The idtags of ``titles`` (in order), listing tags once and creating missing ones; with
        ``shared``, once for every process that shares it."""
        with self._lock:
            if any(title not in self._ids for title in titles):
                if shared is None:
                    self._resolve_here(client, titles)
                else:
                    self._resolve_shared(client, titles, shared)
            return [self._ids[title] for title in titles]

    def forget(self, idtag: int, *, shared: SharedStore | None = None) -> None:
        """Drop a cached idtag Picqer no longer knows; the next resolve lists the tags again."""
        with self._lock:
            for title in [title for title, cached in self._ids.items() if cached == idtag]:
                del self._ids[title]
            # someone changes tags in Picqer: list them again rather than create a duplicate title
            self._listed = False
            if shared is not None:
                raw = shared.get(SHARED_TAGS_KEY)
                if raw is not None and idtag in _parse(raw).values():
                    shared.delete(SHARED_TAGS_KEY, value=raw)  # not a newer map another process wrote

    @property
    def warm(self) -> bool:
        return self._listed

    def _resolve_here(self, client: PicqerClient, titles: Sequence[str]) -> None:
        if not self._listed:
            for tag in client.iter_tags():
                self._ids.setdefault(tag.title, tag.idtag)
            self._listed = True
        self._create_missing(client, titles, self._ids)

    def _resolve_shared(self, client: PicqerClient, titles: Sequence[str], shared: SharedStore) -> None:
        known = _read(shared)
        if any(title not in known for title in titles):
            with hold_lease(shared, SHARED_TAGS_LEASE_KEY):
                known = _read(shared)  # another process may have listed (or made) them meanwhile
                if any(title not in known for title in titles):
                    # the map lacks a title: a listing tells whether Picqer has it (made by hand)
                    known = {}
                    for tag in client.iter_tags():
                        known.setdefault(tag.title, tag.idtag)
                    self._listed = True
                    self._create_missing(client, titles, known)
                    shared.set(SHARED_TAGS_KEY, json.dumps(known), ttl=SHARED_TAGS_TTL_SECONDS)
        for title in titles:
            self._ids[title] = known[title]

    @staticmethod
    def _create_missing(client: PicqerClient, titles: Sequence[str], known: dict[str, int]) -> None:
        for title in titles:
            if title not in known:
                known[title] = client.create_tag(title).idtag
                log.info("picqer_tag_created", title=title, idtag=known[title])


def _read(shared: SharedStore) -> dict[str, int]:
    raw = shared.get(SHARED_TAGS_KEY)
    return _parse(raw) if raw is not None else {}


def _parse(raw: str) -> dict[str, int]:
    try:
        loaded = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(title): idtag for title, idtag in loaded.items() if isinstance(idtag, int)}


_SHARED: dict[str, TagCache] = {}
_SHARED_LOCK = threading.Lock()


def shared_tag_cache(picqer_url: str) -> TagCache:
    """The process-wide cache of one Picqer account (keyed by its API URL)."""
    with _SHARED_LOCK:
        return _SHARED.setdefault(picqer_url, TagCache())
