"""community settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "community_settings",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("community", sa.String(length=200), nullable=False),
        sa.Column("shadow", sa.Boolean(), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "community"),
    )


def downgrade() -> None:
    op.drop_table("community_settings")
