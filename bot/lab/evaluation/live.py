"""The bias audit on live decisions: per identity term mentioned, how often modbot flags and how
often moderators overturn it. A term flagged far more often than the baseline, or overturned
often, is where the filter is unfair to a group."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.storage.records import Resolution
from bot.storage.store import Store
from moderation.identity import identity_terms
from moderation.types import Outcome


def audit(rows: list[tuple[str, str, str | None]], since: datetime) -> dict[str, Any]:
    flagged_outcomes = {o.value for o in Outcome if o.needs_review}

    def stats(subset: list[tuple[str, str, str | None]]) -> dict[str, Any]:
        flagged = [r for r in subset if r[1] in flagged_outcomes]
        reviewed = [r for r in flagged if r[2] is not None]
        overturned = [r for r in reviewed if r[2] == Resolution.APPROVED]
        return {
            "posts": len(subset),
            "flag_rate": len(flagged) / len(subset) if subset else 0.0,
            "reviewed": len(reviewed),
            "override_rate": len(overturned) / len(reviewed) if reviewed else 0.0,
        }

    per_term = []
    for term in identity_terms():
        pattern = re.compile(rf"\b{re.escape(term)}\b", re.IGNORECASE)
        subset = [r for r in rows if pattern.search(r[0])]
        if subset:
            per_term.append({"identity": term, **stats(subset)})
    return {
        "since": since.isoformat(),
        "all posts": stats(rows),
        "per identity": sorted(per_term, key=lambda r: -r["flag_rate"]),
    }


def audit_store(store: Store, days: int) -> dict[str, Any]:
    """The audit over the store's decisions of the last `days` days (`modbot eval live`, the
    dashboard's stats page)."""
    since = datetime.now(UTC) - timedelta(days=days)
    return audit(store.decision_outcomes(since), since)
