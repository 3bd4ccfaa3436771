"""The wiring: the scheduler prunes personal data hourly and, with Redis, drains the webhook spool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.conftest import TEST_REDIS_NAMESPACE
from worker.app import build_app
from worker.config import Settings
from worker.db.migrate import upgrade_database
from worker.infra.spool import RedisWebhookSpool
from worker.scheduler import INBOX_REQUEUE_SECONDS, RETENTION_PRUNE_SECONDS, build_jobs
from worker.sync.spool import SpooledEvent


def _settings(tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'mirror.db'}"
    upgrade_database(url)
    return Settings(database_url=url, redis_url="", redis_namespace=TEST_REDIS_NAMESPACE)


def test_the_scheduler_prunes_every_hour(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with build_app(settings) as app:
        jobs = {job.name: job for job in build_jobs(settings, app.scheduler_targets())}
        assert jobs["retention"].interval == RETENTION_PRUNE_SECONDS == 3600
        result = jobs["retention"].action()
    assert (result.inbox_deleted, result.orders_blanked, result.complete) == (0, 0, True)


def test_without_redis_there_is_no_spool_to_drain(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with build_app(settings) as app:
        assert app.webhook_spool() is None
        assert "spool-drain" not in {job.name for job in build_jobs(settings, app.scheduler_targets())}


def test_with_redis_the_scheduler_moves_spooled_webhooks_into_the_inbox(
    tmp_path: Path, redis_client: Any
) -> None:
    settings = _settings(tmp_path)
    with build_app(settings, redis=redis_client) as app:
        spool = app.webhook_spool()
        assert isinstance(spool, RedisWebhookSpool)
        event = SpooledEvent.of(source="picqer", event_key="wiring-1", topic="orders.completed", payload="{}")
        assert spool.put(event)
        jobs = {job.name: job for job in build_jobs(settings, app.scheduler_targets())}
        assert jobs["spool-drain"].interval == INBOX_REQUEUE_SECONDS
        assert jobs["spool-drain"].action() == 1
        assert spool.peek(10) == []
        with app.engine.connect() as connection:
            keys = connection.execute(sa.text("SELECT event_key FROM webhook_inbox")).scalars().all()
        assert keys == ["wiring-1"]
