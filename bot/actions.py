"""What each outcome means on a platform, as outbox actions. Adapters carry out the kinds their
platform supports and fail the rest with a reason."""

from __future__ import annotations

from bot.storage.store import ActionSpec
from moderation.policy import PolicyRules
from moderation.types import Decision, Outcome

ACTION_KINDS = ("hide", "remove", "timeout", "ban")


def actions_for(decision: Decision, rules: PolicyRules) -> list[ActionSpec]:
    """Actions to queue for a decision. Shadow mode and non-acting outcomes queue none."""
    if not decision.acts:
        return []
    reason = decision.reasons[0].message if decision.reasons else decision.outcome.value
    base = {"reason": reason}
    match decision.outcome:
        case Outcome.HIDE:
            return [ActionSpec("hide", base)]
        case Outcome.REMOVE:
            return [ActionSpec("remove", base)]
        case Outcome.TIMEOUT:
            return [ActionSpec("remove", base), ActionSpec("timeout", {**base, "seconds": rules.timeout_seconds})]
        case Outcome.BAN:
            return [ActionSpec("remove", base), ActionSpec("ban", base)]
    return []


def verdict_actions(resolution: str) -> list[ActionSpec]:
    """A moderator's `remove` verdict removes the post (the store skips it if a removal already ran)."""
    if resolution == "removed":
        return [ActionSpec("remove", {"reason": "removed by a moderator after review"})]
    return []
