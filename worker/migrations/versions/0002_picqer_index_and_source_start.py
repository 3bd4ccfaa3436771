"""the Picqer index, and where a source's first poll starts

``picqer_index`` holds every Picqer order of the account (ours or not) by reference, and
``picqer_index_state`` how far that index can be trusted, so that a push asks Picqer by reference
only when the index cannot vouch for it (worker/sync/picqer_index.py). ``sync_cursors.start_at``
records the bound of a source's first poll.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "picqer_index",
        sa.Column("idorder", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("updated", sa.DateTime(), nullable=True),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("idorder", name=op.f("pk_picqer_index")),
    )
    with op.batch_alter_table("picqer_index", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_picqer_index_reference"), ["reference"], unique=False)
    op.create_table(
        "picqer_index_state",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=True),
        sa.Column("covers_since", sa.DateTime(), nullable=True),
        sa.Column("high_water", sa.BigInteger(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_picqer_index_state")),
    )
    with op.batch_alter_table("sync_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_cursors", schema=None) as batch_op:
        batch_op.drop_column("start_at")
    op.drop_table("picqer_index_state")
    with op.batch_alter_table("picqer_index", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_picqer_index_reference"))
    op.drop_table("picqer_index")
