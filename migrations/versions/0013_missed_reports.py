"""cases.reported_by: the moderator who opened a case for a post modbot allowed ("should have been
flagged"), so a missed case is a label of its own, told apart from the flags modbot raised

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("reported_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), never batch mode's copy of the table.
    op.execute("ALTER TABLE cases DROP COLUMN reported_by")
