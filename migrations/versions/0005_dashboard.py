"""dashboard: moderator accounts, web sessions, filterable case columns

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "moderators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("moderator_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["moderator_id"], ["moderators.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    op.create_index("ix_web_sessions_moderator", "web_sessions", ["moderator_id"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("platform", sa.String(length=32), nullable=False, server_default=""))
        batch.add_column(sa.Column("community", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("category", sa.String(length=32), nullable=False, server_default=""))
        batch.add_column(sa.Column("score", sa.Float(), nullable=False, server_default="0"))
    # Existing cases: platform and community from the post, category and score from the decision's
    # top reason (reasons are stored strongest first).
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT c.id, p.platform, p.community, d.reasons FROM cases c "
            "JOIN posts p ON p.id = c.post_id JOIN decisions d ON d.id = c.decision_id"
        )
    ).all()
    for case_id, platform, community, reasons in rows:
        if isinstance(reasons, str):
            reasons = json.loads(reasons)
        top = reasons[0] if reasons else {}
        bind.execute(
            sa.text("UPDATE cases SET platform = :p, community = :c, category = :k, score = :s WHERE id = :i"),
            {
                "p": platform,
                "c": community,
                "k": top.get("category", ""),
                "s": float(top.get("score", 0.0)),
                "i": case_id,
            },
        )
    op.create_index("ix_cases_state_opened", "cases", ["state", "opened_at"])
    op.create_index("ix_cases_state_score", "cases", ["state", "score"])
    op.create_index("ix_cases_filter", "cases", ["platform", "community", "category"])


def downgrade() -> None:
    op.drop_index("ix_cases_filter", table_name="cases")
    op.drop_index("ix_cases_state_score", table_name="cases")
    op.drop_index("ix_cases_state_opened", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("score")
        batch.drop_column("category")
        batch.drop_column("community")
        batch.drop_column("platform")
    op.drop_index("ix_web_sessions_moderator", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("moderators")
