"""inbox payloads compressed with lz4 on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Every webhook's body is stored in ``webhook_inbox.payload``; a Shopify order is 5-8 KB of text,
which PostgreSQL compresses on the way in (values over 2 KB). Its default, pglz, took about a third
of the server's CPU under ``make bench``'s ingest load; lz4 compresses as well for JSON at a
fraction of the CPU. Only new values are compressed with it (old rows stay as they are, both are
read alike). A server built without lz4 (PostgreSQL 13 and older, or a build without it) lists no
``lz4`` among ``default_toast_compression``'s values and keeps pglz; SQLite has no such thing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    found = bind.execute(
        sa.text(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
        )
    ).first()
    return found is not None


def upgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE webhook_inbox ALTER COLUMN payload SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE webhook_inbox ALTER COLUMN payload SET COMPRESSION default")
