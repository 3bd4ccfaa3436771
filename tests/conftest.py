"""Fixtures shared by every test: real PostgreSQL and Redis under CI, SQLite and fakeredis locally.

Under ``CI=true`` a missing PostgreSQL or Redis is a failure, never a skip. A test run owns its
Redis keys: every ``Settings`` built in it gets a namespace of its own (``REDIS_NAMESPACE``), and
only the keys under it are ever deleted, never what another run (or a person) keeps in that Redis.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"  # byte-exact copies of ../shared/samples
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# one per run; subprocesses (the CLI tests, the benchmark's workers) inherit it through the environment
TEST_NAMESPACE_VARIABLE = "PICQER_SYNC_TEST_REDIS_NAMESPACE"
TEST_REDIS_NAMESPACE = os.environ.get(TEST_NAMESPACE_VARIABLE) or f"picqer-sync-test-{uuid.uuid4().hex[:12]}"


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


@pytest.fixture(scope="session", autouse=True)
def _own_redis_namespace() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TEST_NAMESPACE_VARIABLE, TEST_REDIS_NAMESPACE)
        patch.setenv("REDIS_NAMESPACE", TEST_REDIS_NAMESPACE)  # read by every Settings()
        yield


def delete_own_redis_keys(client: Any) -> None:
    """Delete this run's keys (and nothing else) from ``client``'s database."""
    for key in client.scan_iter(match=f"{TEST_REDIS_NAMESPACE}:*", count=1000):
        client.delete(key)


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


@contextmanager
def postgres_schema(prefix: str = "t_") -> Iterator[str]:
    """A database URL on a fresh schema of the test database (``prefix`` + a random part), dropped
    when the block ends."""
    import sqlalchemy as sa

    schema = f"{prefix}{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mirror.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def real_redis() -> Iterator[Any]:
    """A real Redis (database 15), skipped locally and required on CI; this run's keys are deleted
    before and after the test (never the whole database: another run may be using it)."""
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    delete_own_redis_keys(client)
    try:
        yield client
    finally:
        delete_own_redis_keys(client)
        client.close()


@pytest.fixture(params=["fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
def redis_client(request: pytest.FixtureRequest) -> Any:
    """Each test that takes this runs on fakeredis and on a real Redis."""
    if request.param == "fakeredis":
        import fakeredis

        return fakeredis.FakeRedis()
    return request.getfixturevalue("real_redis")
