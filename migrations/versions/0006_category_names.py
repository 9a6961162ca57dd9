"""category names a moderator decides by (identity_attack -> hate, ...); posts say whether their
author and time were given; fact-checks keep their headline


Stored decisions, cases and drafts keep their scores under the new names, so the queue's category
filter, replays and the learning loop read one vocabulary. Where two old names fold into one
(severe_toxicity into toxicity) the higher score is kept. The downgrade maps the names back, except
that a folded severe_toxicity score stays under toxicity.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Written out here, not imported: a migration must keep meaning what it meant when it was written.
_RENAMED = {
    "identity_attack": "hate",
    "insult": "harassment",
    "sexual_explicit": "sexual",
    "obscene": "profanity",
    "severe_toxicity": "toxicity",
}
_BACK = {new: old for old, new in _RENAMED.items() if old != "severe_toxicity"}
_CHUNK = 500
_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _update(sql: str, *json_params: str) -> Any:
    return sa.text(sql).bindparams(*(sa.bindparam(p, type_=_JSON) for p in json_params))


def _scores(scores: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for category, value in scores.items():
        new = names.get(category, category)
        out[new] = max(value, out[new]) if new in out else value
    return out


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _rewrite(names: Mapping[str, str]) -> None:
    bind = op.get_bind()
    last = 0
    while rows := bind.execute(
        sa.text("SELECT id, scores, scores_by_scorer, reasons FROM decisions WHERE id > :last ORDER BY id LIMIT :n"),
        {"last": last, "n": _CHUNK},
    ).all():
        for row_id, scores, by_scorer, reasons in rows:
            reasons = [
                {**r, "category": names.get(r.get("category", ""), r.get("category", ""))} for r in _loaded(reasons)
            ]
            bind.execute(
                _update(
                    "UPDATE decisions SET scores = :s, scores_by_scorer = :b, reasons = :r WHERE id = :i", "s", "b", "r"
                ),
                {
                    "s": _scores(_loaded(scores), names),
                    "b": {k: _scores(v, names) for k, v in _loaded(by_scorer).items()},
                    "r": reasons,
                    "i": row_id,
                },
            )
        last = rows[-1][0]
    for row_id, scores in bind.execute(sa.text("SELECT id, scores FROM drafts")).all():
        bind.execute(
            _update("UPDATE drafts SET scores = :s WHERE id = :i", "s"),
            {"s": _scores(_loaded(scores), names), "i": row_id},
        )
    for old, new in names.items():
        bind.execute(sa.text("UPDATE cases SET category = :new WHERE category = :old"), {"new": new, "old": old})


def upgrade() -> None:
    _rewrite(_RENAMED)
    # Plain ALTER TABLE, never a batch rebuild: rebuilding posts drops the old table, and with
    # foreign keys on SQLite then deletes every decision that cascades from it.
    with op.batch_alter_table("posts", recreate="never") as batch:
        batch.add_column(sa.Column("author_anonymous", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("time_known", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("claims", recreate="never") as batch:
        batch.add_column(sa.Column("title", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), for the same reason
    with op.batch_alter_table("claims", recreate="never") as batch:
        batch.drop_column("title")
    with op.batch_alter_table("posts", recreate="never") as batch:
        batch.drop_column("time_known")
        batch.drop_column("author_anonymous")
    _rewrite(_BACK)
