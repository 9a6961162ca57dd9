"""Flag thresholds accepted from the calibration of moderators' verdicts (`modbot calibrate
--accept`, the dashboard's calibration page): stored per community and category, audit-logged,
revertible, read by every process that decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.base import Transactional
from bot.storage.records import audit_row
from bot.storage.schema import ThresholdChangeRow, utcnow


@dataclass(frozen=True, slots=True)
class ThresholdChange:
    id: int
    platform: str
    community: str
    category: str
    threshold: float
    evidence: dict[str, Any]
    accepted_by: str
    accepted_at: datetime
    reverted_by: str | None
    reverted_at: datetime | None


class Thresholds(Transactional):
    def accept_threshold(
        self,
        platform: str,
        community: str,
        category: str,
        threshold: float,
        evidence: dict[str, Any],
        actor: str,
        origin: str,
    ) -> int:
        def work(session: Session) -> int:
            row = ThresholdChangeRow(
                platform=platform,
                community=community,
                category=category,
                threshold=threshold,
                evidence=evidence,
                accepted_by=actor,
            )
            session.add(row)
            session.flush()
            details = {"platform": platform, "community": community, "category": category, "threshold": threshold}
            session.add(audit_row(actor, "threshold.accepted", "threshold", row.id, origin, details | evidence))
            return row.id

        return self.transaction(work)

    def revert_threshold(self, change_id: int, actor: str, origin: str) -> ThresholdChange:
        """LookupError for an unknown change, ValueError for one reverted already."""

        def work(session: Session) -> ThresholdChange:
            row = session.get(ThresholdChangeRow, change_id, with_for_update=True)
            if row is None:
                raise LookupError(f"no threshold change {change_id}")
            if row.reverted_at is not None:
                raise ValueError(f"threshold change {change_id} was reverted by {row.reverted_by} already")
            row.reverted_by, row.reverted_at = actor, utcnow()
            details = {"platform": row.platform, "community": row.community, "category": row.category}
            session.add(audit_row(actor, "threshold.reverted", "threshold", row.id, origin, details))
            return _change(row)

        return self.transaction(work)

    def threshold_changes(self, limit: int = 200) -> list[ThresholdChange]:
        """Newest first, reverted ones included."""

        def work(session: Session) -> list[ThresholdChange]:
            rows = session.scalars(select(ThresholdChangeRow).order_by(ThresholdChangeRow.id.desc()).limit(limit))
            return [_change(r) for r in rows]

        return self.transaction(work)

    def threshold_overrides(self) -> dict[tuple[str, str], dict[str, float]]:
        """(platform, community) -> category -> the newest accepted, unreverted flag threshold."""

        def work(session: Session) -> dict[tuple[str, str], dict[str, float]]:
            rows = session.scalars(
                select(ThresholdChangeRow)
                .where(ThresholdChangeRow.reverted_at.is_(None))
                .order_by(ThresholdChangeRow.id)
            )
            out: dict[tuple[str, str], dict[str, float]] = {}
            for r in rows:
                out.setdefault((r.platform, r.community), {})[r.category] = r.threshold
            return out

        return self.transaction(work)


def _change(r: ThresholdChangeRow) -> ThresholdChange:
    return ThresholdChange(
        r.id,
        r.platform,
        r.community,
        r.category,
        r.threshold,
        dict(r.evidence),
        r.accepted_by,
        r.accepted_at,
        r.reverted_by,
        r.reverted_at,
    )
