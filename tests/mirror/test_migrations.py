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


def test_inbox_payloads_are_compressed_with_lz4_where_the_server_has_it(database_url: str) -> None:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name != "postgresql":
                return  # SQLite stores text as it is: nothing to choose
            has_lz4 = connection.execute(
                sa.text(
                    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
                )
            ).scalar_one()
            method = connection.execute(
                sa.text(
                    "SELECT attcompression FROM pg_attribute "
                    "WHERE attrelid = 'webhook_inbox'::regclass AND attname = 'payload'"
                )
            ).scalar_one()
            # "l": lz4; "" (nothing set): the server's default, pglz
            assert method == ("l" if has_lz4 else "")
            if has_lz4:
                payload = '{"order": "' + "x" * 20_000 + '"}'
                connection.execute(
                    sa.text(
                        "INSERT INTO webhook_inbox (source, event_key, topic, payload, received_at, "
                        "attempts) VALUES ('shop', 'k1', 'orders/paid', :p, now(), 0)"
                    ),
                    {"p": payload},
                )
                stored = connection.execute(
                    sa.text(
                        "SELECT pg_column_compression(payload), payload FROM webhook_inbox "
                        "WHERE event_key = 'k1'"
                    )
                ).one()
                assert stored == ("lz4", payload)
    finally:
        engine.dispose()
