"""The migrations build exactly the schema the SQLModel tables describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import worker.db.models  # noqa: F401  (registers the tables)
from worker.db.migrate import alembic_config, current_revision, upgrade_database
from worker.db.session import make_engine


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    upgrade_database(database_url)

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, SQLModel.metadata)
            tables = set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()

    assert diff == []
    assert {"orders", "order_lines", "picklists", "shipments", "sync_cursors", "webhook_inbox"} <= tables
    assert "hook_registrations" in tables


def test_upgrade_is_idempotent_and_reaches_head(database_url: str) -> None:
    assert current_revision(database_url) is None

    upgrade_database(database_url)
    upgrade_database(database_url)

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    assert current_revision(database_url) == head
