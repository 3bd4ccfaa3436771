"""Fixtures shared by every test: real PostgreSQL and Redis under CI, SQLite and fakeredis locally.

Under ``CI=true`` a missing PostgreSQL or Redis is a failure, never a skip.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"  # byte-exact copies of ../shared/samples
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip locally, fail on CI, when a service the test needs is not there."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if on_ci():
        pytest.fail(f"{message} (required under CI=true)")
    pytest.skip(message)


def samples_dir() -> Path:
    """The vendor samples (byte-exact copies, see tests/samples/SOURCES.md)."""
    return SAMPLES_DIR


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    """Commands configure logging for their process; in tests that must not leak into the next test
    (a filtering level set by one would hide the debug events another captures)."""
    yield
    import structlog

    structlog.reset_defaults()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mirror.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mirror.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def real_redis() -> Iterator[Any]:
    """A real Redis (database 15, flushed), skipped locally and required on CI."""
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(params=["fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
def redis_client(request: pytest.FixtureRequest) -> Any:
    """Each test that takes this runs on fakeredis and on a real Redis."""
    if request.param == "fakeredis":
        import fakeredis

        return fakeredis.FakeRedis()
    return request.getfixturevalue("real_redis")
