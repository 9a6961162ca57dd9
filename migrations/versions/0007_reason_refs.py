"""reasons carry what they matched as data: the fact-check a misinformation reason names

Until now the matched fact-check's id lived only in the reason's sentence and was read back out of
it by the context-reply trigger and the case page. Stored reasons get the id as a `ref` here, the
one place the sentence is read, so that old cases still link their fact-check. The downgrade drops
the refs (the sentences still name the ids).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Written out here, not imported: a migration must keep meaning what it meant when it was written.
_NAMED = re.compile(r"matches fact-check (\d+) ")
_CHUNK = 500
_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _with_ref(reason: dict[str, Any]) -> dict[str, Any]:
    if reason.get("ref") or reason.get("category") != "misinformation":
        return reason
    named = _NAMED.search(str(reason.get("message", "")))
    return {**reason, "ref": {"kind": "fact-check", "id": named.group(1)}} if named else reason


def _without_ref(reason: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in reason.items() if k != "ref"}


def _rewrite(change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    bind = op.get_bind()
    update = sa.text("UPDATE decisions SET reasons = :r WHERE id = :i").bindparams(sa.bindparam("r", type_=_JSON))
    last = 0
    while rows := bind.execute(
        sa.text("SELECT id, reasons FROM decisions WHERE id > :last ORDER BY id LIMIT :n"),
        {"last": last, "n": _CHUNK},
    ).all():
        for row_id, stored in rows:
            reasons = json.loads(stored) if isinstance(stored, str) else stored
            changed = [change(r) for r in reasons]
            if changed != reasons:
                bind.execute(update, {"r": changed, "i": row_id})
        last = rows[-1][0]


def upgrade() -> None:
    _rewrite(_with_ref)


def downgrade() -> None:
    _rewrite(_without_ref)
