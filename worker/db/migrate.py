"""Run the Alembic migrations shipped in ``worker/migrations`` against a database URL."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from worker.db.session import is_postgres, make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# any constant works; it only has to be the same in every process that migrates this database
MIGRATION_LOCK_KEY = 0x70696371  # "picq"


def alembic_config() -> Config:
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_database(database_url: str, *, revision: str = "head") -> None:
    """Bring the mirror's schema at ``database_url`` up to ``revision`` (idempotent)."""
    engine = make_engine(database_url)
    try:
        with _migration_lock(engine), engine.begin() as connection:
            _lock_in_transaction(connection)
            config = alembic_config()
            # hand over the connection rather than the URL: URLs may hold '%' (PostgreSQL
            # options), which Alembic's ini interpolation would misread
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """SQLite: a file lock beside the database, so processes that start together migrate in turn."""
    database = engine.url.database
    if is_postgres(engine) or not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).resolve().with_name(Path(database).name + ".migrate.lock")
    with lock_path.open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _lock_in_transaction(connection: Connection) -> None:
    """PostgreSQL: the second process waits here, then finds the schema current and does nothing."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
