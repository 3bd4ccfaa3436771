"""A migrated mirror on SQLite and PostgreSQL; the push pipeline's fixtures (a fake Picqer) too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

# the push pipeline's fixtures, so a test can push an order before its data is blanked
from tests.sync.conftest import fake, make_ctx, mirror_url  # noqa: F401
from worker.config import Settings
from worker.db.session import make_engine


@pytest.fixture
def engine(mirror_url: str) -> Iterator[Engine]:  # noqa: F811  (the imported fixture, by name)
    engine = make_engine(mirror_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(mirror_url: str) -> Settings:  # noqa: F811
    return Settings(database_url=mirror_url, redis_url="", inbox_retention_days=14)
