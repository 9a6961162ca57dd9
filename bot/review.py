"""Moderator verdicts on cases. One code path for every review surface (CLI now; the dashboard and
Discord buttons call the same function), so each verdict is audited and acted on the same way."""

from __future__ import annotations

from typing import Literal

from bot.actions import verdict_actions
from bot.storage.store import CaseView, Store

Verdict = Literal["approve", "remove"]
_RESOLUTION = {"approve": "approved", "remove": "removed"}


def resolve_case(
    store: Store, case_id: int, verdict: Verdict, actor: str, origin: str, note: str | None = None
) -> CaseView:
    """Close the case: `approve` says the post is fine, `remove` that it breaks the rules (and
    queues its removal unless a removal already ran). Raises LookupError / ValueError."""
    resolution = _RESOLUTION[verdict]
    return store.resolve(case_id, resolution, actor, origin, note, verdict_actions(resolution))
