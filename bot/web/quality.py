"""How good each scorer's flags are, by the moderators' verdicts: per scorer and category, flags,
confirmed, overturned and precision, week by week, with the week whose override rate doubled
marked. A model that drifts (new slang, a raid, a changed community) shows here first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.records import Resolution
from bot.storage.schema import CaseRow, DecisionRow, utcnow
from bot.storage.store import Store

DRIFT_MIN_REVIEWED = 5
"""verdicts a week needs, and the week before it, before a change in override rate means anything"""
DRIFT_FLOOR = 0.1
"""an override rate under this is not drift, doubled or not (0 -> 0.05 is one post)"""


@dataclass
class _Week:
    reviewed: int = 0
    overturned: int = 0

    @property
    def override_rate(self) -> float:
        return self.overturned / self.reviewed if self.reviewed else 0.0


@dataclass
class _Rule:
    flags: int = 0
    confirmed: int = 0
    overturned: int = 0
    weeks: dict[date, _Week] = field(default_factory=dict)


def _monday(at: datetime) -> date:
    day = at.date()
    return day - timedelta(days=day.weekday())


def rule_quality(store: Store, days: int = 30) -> list[dict[str, Any]]:
    """One row per (scorer, category) that opened a case in the window, by the case's top reason."""
    since = utcnow() - timedelta(days=days)

    def work(session: Session) -> dict[tuple[str, str], _Rule]:
        rules: dict[tuple[str, str], _Rule] = {}
        rows = session.execute(
            select(CaseRow.category, CaseRow.resolution, CaseRow.opened_at, DecisionRow.reasons)
            .join(DecisionRow, DecisionRow.id == CaseRow.decision_id)
            .where(CaseRow.opened_at >= since)
        )
        for category, resolution, opened, reasons in rows:
            source = str(reasons[0].get("source", "")) if reasons else ""
            rule = rules.setdefault((source or "(none)", category or "(none)"), _Rule())
            rule.flags += 1
            if resolution is None:
                continue
            week = rule.weeks.setdefault(_monday(opened), _Week())
            week.reviewed += 1
            if resolution == Resolution.APPROVED:
                rule.overturned += 1
                week.overturned += 1
            else:
                rule.confirmed += 1
        return rules

    rules: dict[tuple[str, str], _Rule] = store.transaction(work)
    return [_row(source, category, rule) for (source, category), rule in sorted(rules.items())]


def _row(source: str, category: str, rule: _Rule) -> dict[str, Any]:
    reviewed = rule.confirmed + rule.overturned
    weeks = []
    before: _Week | None = None
    for monday, week in sorted(rule.weeks.items()):
        doubled = (
            before is not None
            and min(before.reviewed, week.reviewed) >= DRIFT_MIN_REVIEWED
            and week.override_rate >= max(DRIFT_FLOOR, 2 * before.override_rate)
        )
        weeks.append(
            {
                "week": monday.isoformat(),
                "reviewed": week.reviewed,
                "override_rate": week.override_rate,
                "doubled": doubled,
            }
        )
        before = week
    return {
        "scorer": source,
        "category": category,
        "flags": rule.flags,
        "confirmed": rule.confirmed,
        "overturned": rule.overturned,
        "precision": rule.confirmed / reviewed if reviewed else None,
        "weeks": weeks,
        "drift": any(w["doubled"] for w in weeks),
    }
