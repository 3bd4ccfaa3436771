"""The one Redis client of a process: broker, request budget, order locks and scheduler locks share it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from worker.config import Settings

DEFAULT_NAMESPACE = Settings.model_fields["redis_namespace"].default

# a pooled connection idle this long is pinged before use, so a Redis restart costs no failed command
HEALTH_CHECK_SECONDS = 30
# a Redis that accepts connections but never answers must not hold a thread (a receiver slot, a
# worker thread) forever: every command fails after these, and the caller's own retry takes over.
# No command of ours blocks on the server (dramatiq's consumer polls), so 5 s is never a normal wait.
CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 5.0


def connect_redis(settings: Settings) -> Any:
    """A redis-py client for ``settings.redis_url``; None when no Redis is configured.

    The client connects on its first command, so building it costs nothing.
    """
    if not settings.redis_url:
        return None
    import redis

    return redis.Redis.from_url(
        settings.redis_url,
        health_check_interval=HEALTH_CHECK_SECONDS,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=COMMAND_TIMEOUT_SECONDS,
    )


def ping_redis(settings: Settings) -> Callable[[], None]:
    """A check that Redis at ``settings.redis_url`` answers (``PING``) on a connection of its own."""

    def check() -> None:
        client = connect_redis(settings)
        try:
            client.ping()
        finally:
            client.close()

    return check
