"""The run's own corner of the shared PostgreSQL and Redis: a schema and a key namespace.

Both are made fresh for the run and removed afterwards; nothing else in either is touched (other
runs share them). The harness itself talks to them directly, never through the proxies it cuts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
import sqlalchemy as sa

POSTGRES = ("127.0.0.1", 5432)
POSTGRES_DATABASE = "test"
POSTGRES_USER = "postgres"
REDIS = ("127.0.0.1", 6379)
REDIS_DB = 15  # the tests' database; the namespace keeps the run's keys apart


@dataclass(frozen=True)
class Services:
    schema: str
    redis_namespace: str
    engine: sa.Engine  # direct, for the harness's reads
    redis: Any  # direct redis-py client

    def database_url(self, port: int) -> str:
        """The URL the processes use, through the proxy on ``port``, in the run's schema."""
        return (
            f"postgresql+psycopg://{POSTGRES_USER}@127.0.0.1:{port}/{POSTGRES_DATABASE}"
            f"?options=-csearch_path%3D{self.schema}"
        )

    def redis_url(self, port: int) -> str:
        return f"redis://127.0.0.1:{port}/{REDIS_DB}"


@contextmanager
def own_services() -> Iterator[Services]:
    """A fresh schema and Redis namespace; dropped (the schema) and deleted (the keys) afterwards."""
    run = uuid.uuid4().hex[:10]
    schema = f"chaos_{run}"
    admin = sa.create_engine(
        f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES[0]}:{POSTGRES[1]}/{POSTGRES_DATABASE}"
    )
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = sa.create_engine(
        f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES[0]}:{POSTGRES[1]}/{POSTGRES_DATABASE}",
        connect_args={"options": f"-csearch_path={schema}"},
    )
    client = redis.Redis(host=REDIS[0], port=REDIS[1], db=REDIS_DB)
    services = Services(
        schema=schema, redis_namespace=f"picqer-sync-chaos-{run}", engine=engine, redis=client
    )
    try:
        yield services
    finally:
        engine.dispose()
        for key in client.scan_iter(match=f"{services.redis_namespace}:*", count=1000):
            client.delete(key)
        client.close()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
