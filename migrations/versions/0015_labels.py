"""labels: what modbot's own Bluesky labeler issued, one signed row per label or negation,
numbered by seq (subscribeLabels' cursor), with its public reason

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("src", sa.String(length=200), nullable=False),
        sa.Column("uri", sa.String(length=2000), nullable=False),
        sa.Column("cid", sa.String(length=200), nullable=True),
        sa.Column("val", sa.String(length=128), nullable=False),
        sa.Column("neg", sa.Boolean(), nullable=False),
        sa.Column("cts", sa.String(length=40), nullable=False),
        sa.Column("exp", sa.String(length=40), nullable=True),
        sa.Column("sig", sa.LargeBinary(), nullable=False),
        sa.Column("signed_by", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_labels_subject", "labels", ["uri", "val"])


def downgrade() -> None:
    op.drop_index("ix_labels_subject", table_name="labels")
    op.drop_table("labels")
