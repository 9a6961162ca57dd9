"""What each outcome means on a platform, as outbox actions, and what a moderator's verdict implies.

Adapters carry out the kinds their platform supports and fail the rest with a reason. A platform
can map outcomes to its own kinds (Discord: remove also warns the author); a platform with a
review channel also gets an `alert` action for every case, in shadow mode too, since posting a
case for moderators is not acting on the user.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from moderation.policy import PolicyRules
from moderation.types import Decision, Outcome, Post

DEFAULT_KINDS: Mapping[Outcome, tuple[str, ...]] = {
    Outcome.HIDE: ("hide",),
    Outcome.REMOVE: ("remove",),
    Outcome.TIMEOUT: ("remove", "timeout"),
    Outcome.BAN: ("remove", "ban"),
}

DRAFT = "draft"
"""ActionSpec kind that asks for a reply draft (written to `drafts`, not to the outbox)."""


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One effect of a decision, applied after the decision is stored: the executor carries out
    its `kind` on the post's platform (the store queues it in the outbox)."""

    kind: str
    params: dict[str, Any]


Verdict = Literal["approve", "remove", "timeout", "ban"]
VERDICT_OUTCOME: Mapping[Verdict, Outcome] = {
    "remove": Outcome.REMOVE,
    "timeout": Outcome.TIMEOUT,
    "ban": Outcome.BAN,
}
"""The outcome a verdict other than approve stands for: its actions are that outcome's."""


class ActionPlanner:
    def __init__(
        self,
        kinds_by_platform: Mapping[str, Mapping[Outcome, Sequence[str]]] | None = None,
        alert_platforms: Collection[str] = (),
        question_replies: Mapping[str, str] | None = None,
        drafts: Callable[[Post, Decision], list[ActionSpec]] | None = None,
    ) -> None:
        self.kinds_by_platform = dict(kinds_by_platform or {})
        self.alert_platforms = frozenset(alert_platforms)
        self.question_replies = dict(question_replies or {})
        """platform -> templated reply for allowed posts that ask the bot something."""
        self.drafts = drafts
        """Reply-draft requests for a decided post (the reply assistant's triggers), if enabled."""

    def plan(self, post: Post, decision: Decision, rules: PolicyRules) -> list[ActionSpec]:
        """Actions to queue with a decision: none in shadow mode, except the review alert."""
        specs: list[ActionSpec] = []
        top = decision.reasons[0] if decision.reasons else None
        reason, category = (top.message, top.category) if top else (decision.outcome.value, "")
        if decision.acts and not post.platform_ref.get("dm"):  # nothing to remove in a private chat
            kinds = self.kinds_by_platform.get(post.platform, DEFAULT_KINDS).get(decision.outcome, ())
            specs = [ActionSpec(kind, {**_params(kind, reason, rules), "category": category}) for kind in kinds]
        template = self.question_replies.get(post.platform)
        asks = post.platform_ref.get("asks_bot") and "?" in post.text
        if template and decision.outcome is Outcome.ALLOW and not decision.shadow and asks:
            specs.append(ActionSpec("reply", {"text": template, "reason": "the post asks the bot a question"}))
        if decision.outcome.needs_review and post.platform in self.alert_platforms and not post.platform_ref.get("dm"):
            specs.append(ActionSpec("alert", {}))
        if self.drafts is not None:
            specs.extend(self.drafts(post, decision))
        return specs

    def for_verdict(self, platform: str, verdict: Verdict, rules: PolicyRules) -> list[ActionSpec]:
        """A moderator's verdict as actions: what the platform's mapping says for that outcome, the
        same kinds an automatic decision would take (the store skips kinds already run for the post)."""
        if verdict == "approve":
            return []
        reason = f"{verdict} by a moderator after review"
        outcome = VERDICT_OUTCOME[verdict]
        kinds = self.kinds_by_platform.get(platform, DEFAULT_KINDS).get(outcome, DEFAULT_KINDS[outcome])
        return [ActionSpec(kind, _params(kind, reason, rules)) for kind in kinds]


def _params(kind: str, reason: str, rules: PolicyRules) -> dict[str, object]:
    params: dict[str, object] = {"reason": reason}
    if kind == "timeout":
        params["seconds"] = rules.timeout_seconds
    return params
