"""The whole pipeline in-process: the demo's building blocks (worker/demo/) against a fresh sandbox.

Each test gets its own sandbox, receiver, queue and mirror (SQLite and the in-process queue), so
no state leaks between tests; a test that asks for ``pg_redis_stack`` runs on PostgreSQL with a
real Redis as broker, budget and lock (skipped locally without them, required under CI=true).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from worker.demo import DemoStack, start_stack

# short, so a test waits well under a second between completion and the fulfilment report
FULFILMENT_DELAY_MS = 100
TIMEOUT = 20.0  # seconds per wait; a healthy run needs one or two


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DemoStack]:
    with start_stack(tmp_path, fulfilment_delay_ms=FULFILMENT_DELAY_MS) as running:
        yield running


@pytest.fixture(
    params=["sqlite", pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis])]
)
def any_stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DemoStack]:
    """SQLite with the in-process queue, and PostgreSQL with a real Redis."""
    options: dict[str, Any] = {}
    if request.param != "sqlite":
        options = {
            "database_url": request.getfixturevalue("postgres_url"),
            "redis_client": request.getfixturevalue("real_redis"),
        }
    with start_stack(tmp_path, fulfilment_delay_ms=FULFILMENT_DELAY_MS, **options) as running:
        yield running
