"""Moderator verdicts on cases. One code path for every review surface (CLI, Discord buttons, and
later the dashboard), so each verdict is audited and acted on the same way."""

from __future__ import annotations

from bot.actions import Verdict, verdict_actions
from bot.storage.store import CaseView, Store
from moderation.policy import Policy

RESOLUTION: dict[Verdict, str] = {"approve": "approved", "remove": "removed", "timeout": "removed", "ban": "removed"}


def resolve_case(
    store: Store, policy: Policy, case_id: int, verdict: Verdict, actor: str, origin: str, note: str | None = None
) -> CaseView:
    """Close the case: `approve` says the post is fine; `remove`, `timeout` and `ban` that it breaks
    the rules, and queue what that means (removal once only). Raises LookupError / ValueError."""
    view = store.case(case_id)
    if view is None:
        raise LookupError(f"no case {case_id}")
    rules = policy.rules_for(view.post.community, view.post.channel)
    actions = verdict_actions(verdict, rules)
    return store.resolve(case_id, RESOLUTION[verdict], actor, origin, note, actions, verdict)


def escalate_case(store: Store, case_id: int, actor: str, origin: str, note: str | None = None) -> CaseView:
    """Hand the case to senior moderators: it stays in the queue, marked escalated."""
    return store.escalate(case_id, actor, origin, note)
