"""Stored fact-checks: the keys an import skips, new ones, and those a given embedding model
indexed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.base import Transactional
from bot.storage.schema import (
    ClaimRow,
)


class FactChecks(Transactional):
    def claim_keys(self) -> set[tuple[str, str]]:
        def work(session: Session) -> set[tuple[str, str]]:
            return {(u, s) for u, s in session.execute(select(ClaimRow.url, ClaimRow.claim_sha256))}

        return self.transaction(work)

    def add_claims(self, rows: Sequence[dict[str, Any]]) -> None:
        self.transaction(lambda session: session.add_all(ClaimRow(**row) for row in rows))

    def claims(self, embedding_model: str) -> list[ClaimRow]:
        """Every claim embedded with `embedding_model` (claims embedded by another model need a re-import)."""

        def work(session: Session) -> list[ClaimRow]:
            return list(
                session.scalars(
                    select(ClaimRow).where(ClaimRow.embedding_model == embedding_model).order_by(ClaimRow.id)
                )
            )

        return self.transaction(work)

    def fact_check(self, claim_id: int) -> ClaimRow | None:
        return self.transaction(lambda session: session.get(ClaimRow, claim_id))
