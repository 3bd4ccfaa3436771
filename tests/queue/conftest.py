from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from tests.queue.fakes import RecordingHandlers
from worker.db.migrate import upgrade_database
from worker.db.session import make_engine


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated mirror on SQLite and on PostgreSQL."""
    upgrade_database(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def handlers() -> RecordingHandlers:
    return RecordingHandlers()
