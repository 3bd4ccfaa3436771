"""What every use case needs: :class:`SyncContext`, built once per process by :mod:`worker.app`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from adapters.picqer.client import PicqerClient
from adapters.platform import ShopPlatform
from adapters.registry import get_platform
from adapters.shared import SharedStore
from adapters.source import OrderSource
from worker.config import Settings, SourceSettings
from worker.db.models import utcnow
from worker.errors import ConfigError
from worker.infra.locks import OrderLockFactory
from worker.sync.tags import TagCache


@dataclass
class IndexMemory:
    """What this process knows of the Picqer index (worker/sync/picqer_index.py): when it started
    (a refresh begun since, by any worker process, makes the index trustworthy to it), whether it
    has refreshed the index itself, and the last Picqer order it created, whose absence from the
    index means the mirror lost writes (restored from a backup)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    started_at: datetime = field(default_factory=utcnow)  # naive UTC, wall clock
    refreshed_at: datetime | None = None
    last_created: int | None = None


@dataclass
class SyncContext:
    """The engine, the Picqer client, the tag cache, the order lock, the clock and the settings.

    It owns none of them: whoever built them (:class:`worker.app.App`, a test) closes them.
    """

    engine: Engine
    picqer: PicqerClient
    tags: TagCache
    order_lock: OrderLockFactory
    settings: Settings
    clock: Callable[[], datetime] = utcnow  # naive UTC, as the mirror stores it
    platforms: Callable[[str], ShopPlatform] = get_platform  # a platform package by name
    # what the worker processes share (a shop's Shopify token and cost bucket, Picqer's tag list, the
    # lease of the Picqer index's import); None: this process's memory only
    # (``adapters.shared.MEMORY_STORE`` for the shops), right without Redis
    shop_state: SharedStore | None = None
    index_memory: IndexMemory = field(default_factory=IndexMemory)

    def source_settings(self, name: str) -> SourceSettings | None:
        try:
            return self.settings.source(name)
        except ConfigError:
            return None

    def platform(self, source: SourceSettings) -> ShopPlatform:
        return self.platforms(source.platform)

    def open_source(self, source: SourceSettings) -> OrderSource:
        """A client of ``source``'s shop; the caller closes it."""
        return self.platform(source).source_class(source, shared=self.shop_state)
