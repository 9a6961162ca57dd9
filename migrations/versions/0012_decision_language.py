"""decisions.language: the language each post was identified as, so that the queue and the stats
can be read per language and a post no scorer read is never mistaken for one it cleared

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("decisions", sa.Column("language", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), never batch mode's copy of the table: dropping the old
    # `decisions` would cascade to every case that points at it.
    op.execute("ALTER TABLE decisions DROP COLUMN language")
