"""Stacks for the account-health tests: SQLite with the in-process queue, PostgreSQL with Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from worker.demo import DemoStack, start_stack

ACCOUNT_RETRY_MS = 300  # production waits a minute; a test need not


@pytest.fixture(
    params=["sqlite", pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis])]
)
def any_stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DemoStack]:
    options: dict[str, Any] = {}
    if request.param != "sqlite":
        options = {
            "database_url": request.getfixturevalue("postgres_url"),
            "redis_client": request.getfixturevalue("real_redis"),
        }
    with start_stack(
        tmp_path, fulfilment_delay_ms=100, account_retry_ms=ACCOUNT_RETRY_MS, **options
    ) as running:
        yield running
