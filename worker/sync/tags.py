"""Tag titles to Picqer ``idtag``s, resolved once per process.

Picqer has no filter to find a tag by title (facts sheet §6.3), so the account's tags are listed
at most once per process and cached; a title still missing is created and cached too.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from adapters.picqer.client import PicqerClient
from worker.logging import get_logger

log = get_logger(__name__)


class TagCache:
    """Title -> idtag for one Picqer account; safe to share between threads."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._listed = False
        self._lock = threading.Lock()

    def resolve(self, client: PicqerClient, titles: Sequence[str]) -> list[int]:
        """The idtags of ``titles`` (in order), listing tags once and creating missing ones."""
        with self._lock:
            if not self._listed and any(title not in self._ids for title in titles):
                for tag in client.iter_tags():
                    self._ids.setdefault(tag.title, tag.idtag)
                self._listed = True
            for title in titles:
                if title not in self._ids:
                    self._ids[title] = client.create_tag(title).idtag
                    log.info("picqer_tag_created", title=title, idtag=self._ids[title])
            return [self._ids[title] for title in titles]

    def forget(self, idtag: int) -> None:
        """Drop a cached idtag Picqer no longer knows; the next resolve lists the tags again."""
        with self._lock:
            for title in [title for title, cached in self._ids.items() if cached == idtag]:
                del self._ids[title]
            # someone changes tags in Picqer: list them again rather than create a duplicate title
            self._listed = False

    @property
    def warm(self) -> bool:
        return self._listed


_SHARED: dict[str, TagCache] = {}
_SHARED_LOCK = threading.Lock()


def shared_tag_cache(picqer_url: str) -> TagCache:
    """The process-wide cache of one Picqer account (keyed by its API URL)."""
    with _SHARED_LOCK:
        return _SHARED.setdefault(picqer_url, TagCache())
