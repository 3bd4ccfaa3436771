"""What every use case needs, built once per process (or per thread): :class:`SyncContext`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from adapters.picqer.budget import RequestBudget
from adapters.picqer.client import PicqerClient
from worker.config import Settings, SourceSettings
from worker.db.models import utcnow
from worker.db.session import is_postgres, make_engine
from worker.errors import ConfigError
from worker.sync.locks import (
    FileOrderLocks,
    OrderLockFactory,
    PostgresOrderLocks,
    RedisOrderLocks,
    process_order_locks,
    sqlite_lock_directory,
)
from worker.sync.tags import TagCache, shared_tag_cache


@dataclass
class SyncContext:
    """The engine, the Picqer client, the tag cache, the order lock, the clock and the settings."""

    engine: Engine
    picqer: PicqerClient
    tags: TagCache
    order_lock: OrderLockFactory
    settings: Settings
    clock: Callable[[], datetime] = utcnow  # naive UTC, as the mirror stores it
    _owned: list[Any] = field(default_factory=list, repr=False)

    def source_settings(self, name: str) -> SourceSettings | None:
        try:
            return self.settings.source(name)
        except ConfigError:
            return None

    def close(self) -> None:
        """Close what :func:`build_context` opened (not what the caller passed in)."""
        for resource in reversed(self._owned):
            if isinstance(resource, Engine):
                resource.dispose()
            else:
                resource.close()
        self._owned.clear()


def build_context(
    settings: Settings,
    *,
    picqer_client: PicqerClient | None = None,
    redis: Any = None,
    engine: Engine | None = None,
    tag_cache: TagCache | None = None,
    budget: RequestBudget | None = None,
    clock: Callable[[], datetime] | None = None,
) -> SyncContext:
    """A context from the settings; pass any part to use yours instead (tests, shared clients).

    The order lock is Redis's when ``redis`` is given (or ``settings.redis_url`` is set),
    PostgreSQL's when the mirror is PostgreSQL, a file lock beside a SQLite file, and this process's
    for an in-memory database.
    """
    owned: list[Any] = []
    if engine is None:
        engine = make_engine(settings.database_url)
        owned.append(engine)
    if picqer_client is None:
        picqer_client = PicqerClient(
            settings.picqer.url,
            settings.picqer.api_key.get_secret_value(),
            user_agent=settings.picqer.user_agent,
            timeout=settings.picqer.timeout_seconds,
            budget=budget,
        )
        owned.append(picqer_client)
    if redis is None and settings.redis_url:
        import redis as redis_lib

        redis = redis_lib.Redis.from_url(settings.redis_url)
        owned.append(redis)
    order_lock: OrderLockFactory
    if redis is not None:
        order_lock = RedisOrderLocks(redis)
    elif is_postgres(engine):
        order_lock = PostgresOrderLocks(engine)
    elif (lock_directory := sqlite_lock_directory(engine)) is not None:
        order_lock = FileOrderLocks(lock_directory)
    else:
        order_lock = process_order_locks()
    return SyncContext(
        engine=engine,
        picqer=picqer_client,
        tags=tag_cache or shared_tag_cache(settings.picqer.url),
        order_lock=order_lock,
        settings=settings,
        clock=clock or utcnow,
        _owned=owned,
    )
