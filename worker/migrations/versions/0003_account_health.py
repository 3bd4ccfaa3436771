"""account health and webhook rejections

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_health",
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("broken_since", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(), nullable=True),
        sa.Column("last_ok_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_account_health")),
    )
    op.create_table(
        "webhook_rejections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("minute", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_rejections")),
        sa.UniqueConstraint(
            "target", "reason", "minute", name=op.f("uq_webhook_rejections_target_reason_minute")
        ),
    )
    op.create_index(op.f("ix_webhook_rejections_minute"), "webhook_rejections", ["minute"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_rejections_minute"), table_name="webhook_rejections")
    op.drop_table("webhook_rejections")
    op.drop_table("account_health")
