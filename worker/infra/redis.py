"""The one Redis client of a process: broker, request budget, order locks and scheduler locks share it."""

from __future__ import annotations

from typing import Any

from worker.config import Settings

DEFAULT_NAMESPACE = Settings.model_fields["redis_namespace"].default

# a pooled connection idle this long is pinged before use, so a Redis restart costs no failed command
HEALTH_CHECK_SECONDS = 30


def connect_redis(settings: Settings) -> Any:
    """A redis-py client for ``settings.redis_url``; None when no Redis is configured.

    The client connects on its first command, so building it costs nothing.
    """
    if not settings.redis_url:
        return None
    import redis

    return redis.Redis.from_url(settings.redis_url, health_check_interval=HEALTH_CHECK_SECONDS)
