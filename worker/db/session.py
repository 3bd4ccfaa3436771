"""Engines and sessions for the mirror. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class DatabaseTimeouts:
    """Bounds on waiting for the database; None leaves the driver's default (wait as long as it takes).

    ``connect_seconds``: PostgreSQL ``connect_timeout`` (libpq counts at least 2 s).
    ``pool_seconds``: SQLAlchemy ``pool_timeout``, the wait for a free pooled connection.
    ``statement_seconds``: PostgreSQL ``statement_timeout``; on SQLite the busy timeout (the wait
    for another writer's lock).
    """

    connect_seconds: int | None = None
    pool_seconds: float | None = None
    statement_seconds: float | None = None


def _sqlite_pragmas(
    dbapi_connection: Any, _record: Any, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (status page) run while a worker writes; the busy timeout makes a second
    # writer wait for the first instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # NORMAL in WAL: a commit survives a crash of the process but not always a power cut; the
    # commits that acknowledge a webhook ask for more (:func:`make_commits_durable`)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_commits_durable(connection: Connection) -> None:
    """Every later commit on ``connection`` survives a power cut, not only a crash.

    SQLite: ``synchronous=FULL`` (the WAL is synced at each commit; about 0.3 ms, which a group
    commit pays once for many webhooks), set once per pooled connection and outside a
    transaction. PostgreSQL's commits are durable already (``synchronous_commit`` on).
    """
    if connection.dialect.name != "sqlite" or connection.info.get("durable_commits"):
        return
    if connection.in_transaction():
        connection.commit()
    connection.exec_driver_sql("PRAGMA synchronous=FULL")
    connection.commit()
    connection.info["durable_commits"] = True


def normalise_url(database_url: str) -> str:
    """``postgresql://`` and ``postgres://`` URLs use psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def make_engine(database_url: str, *, timeouts: DatabaseTimeouts | None = None, **options: Any) -> Engine:
    """An engine for ``database_url`` (SQLite: WAL, busy timeout, foreign keys; PostgreSQL: psycopg).

    ``timeouts`` bounds every wait on the database (the receiver's must answer within seconds);
    without it the defaults stay (SQLite waits 30 s for a lock, PostgreSQL as long as it takes).
    """
    timeouts = timeouts or DatabaseTimeouts()
    url = normalise_url(database_url)
    if timeouts.pool_seconds is not None and not url.startswith("sqlite"):
        options.setdefault("pool_timeout", timeouts.pool_seconds)
    if url.startswith("sqlite"):
        busy_ms = (
            SQLITE_BUSY_TIMEOUT_MS
            if timeouts.statement_seconds is None
            else max(1, int(timeouts.statement_seconds * 1000))
        )
        options.setdefault("connect_args", {"check_same_thread": False, "timeout": busy_ms / 1000})
        engine = sa.create_engine(url, **options)
        sa.event.listen(engine, "connect", partial(_sqlite_pragmas, busy_timeout_ms=busy_ms))
        return engine
    options.setdefault("pool_pre_ping", True)
    parsed = sa.engine.make_url(url)
    if timeouts.statement_seconds is not None and parsed.get_backend_name() == "postgresql":
        # merged into the URL's own options (a test's search_path, say), not replacing them
        statement_ms = max(1, int(timeouts.statement_seconds * 1000))
        existing = parsed.query.get("options", "")
        existing = existing if isinstance(existing, str) else " ".join(existing)
        merged = f"{existing} -c statement_timeout={statement_ms}".strip()
        parsed = parsed.update_query_dict({"options": merged})
    if timeouts.connect_seconds is not None and parsed.get_backend_name() == "postgresql":
        connect_args = dict(options.get("connect_args", {}))
        connect_args.setdefault("connect_timeout", max(1, int(timeouts.connect_seconds)))
        options["connect_args"] = connect_args
    return sa.create_engine(parsed, **options)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back on an exception.

    Objects stay readable after the commit (``expire_on_commit=False``), so a use case can carry a
    row from one short transaction to the next without reloading it.
    """
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
