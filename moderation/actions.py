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
from moderation.types import Decision, Outcome, Post, Reason

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

REVERSALS: Mapping[str, str] = {"timeout": "untimeout", "ban": "unban", "label": "unlabel"}
"""What undoes a kind, where anything can: a removed message cannot come back."""
APPEAL_ALERT = "appeal_alert"
"""The appeal put before the moderators where the platform has a review channel."""
APPEAL_ANSWER = "appeal_answer"
"""The moderators' answer, sent to the user who appealed."""


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
        reason = top.message if top else decision.outcome.value
        if decision.acts and not post.platform_ref.get("dm"):  # nothing to remove in a private chat
            kinds = possible(post, self.kinds_by_platform.get(post.platform, DEFAULT_KINDS).get(decision.outcome, ()))
            facts = warning_facts(post.text, decision.reasons)
            rule = {"rule": top.source} if top else {}
            specs = [ActionSpec(kind, {**_params(kind, reason, rules), **facts, **rule}) for kind in kinds]
        template = self.question_replies.get(post.platform)
        asks = post.platform_ref.get("mentions_bot") and "?" in post.text  # a mention, not any reply
        if template and decision.outcome is Outcome.ALLOW and not decision.shadow and asks:
            specs.append(ActionSpec("reply", {"text": template, "reason": "the post asks the bot a question"}))
        if decision.outcome.needs_review and post.platform in self.alert_platforms and not post.platform_ref.get("dm"):
            specs.append(ActionSpec("alert", {}))
        if self.drafts is not None:
            specs.extend(self.drafts(post, decision))
        return specs

    def appeal_alert(self, platform: str) -> ActionSpec | None:
        return ActionSpec(APPEAL_ALERT, {}) if platform in self.alert_platforms else None

    def for_appeal(self, overturned: bool, done: Collection[str], answer: str | None) -> list[ActionSpec]:
        """An answer to an appeal: an overturn reverses what `done` holds that can be reversed;
        either way the user is told, with what was and what could not be undone."""
        undo = [REVERSALS[k] for k in sorted(set(done) & set(REVERSALS))] if overturned else []
        told = {
            "overturned": overturned,
            "answer": answer or "",
            "reversed": undo,
            "removed": bool(set(done) & {"remove", "hide"}),
        }
        reason = "overturned on appeal" if overturned else "upheld on appeal"
        return [*(ActionSpec(kind, {"reason": reason}) for kind in undo), ActionSpec(APPEAL_ANSWER, told)]

    def for_verdict(
        self, post: Post, verdict: Verdict, rules: PolicyRules, facts: Mapping[str, str] | None = None
    ) -> list[ActionSpec]:
        """A moderator's verdict as actions: what the platform's mapping says for that outcome, the
        same kinds an automatic decision would take (the store skips kinds already run for the post)."""
        if verdict == "approve":
            return []
        reason = f"{verdict} by a moderator after review"
        outcome = VERDICT_OUTCOME[verdict]
        kinds = possible(
            post, self.kinds_by_platform.get(post.platform, DEFAULT_KINDS).get(outcome, DEFAULT_KINDS[outcome])
        )
        extra = {**(facts or {}), "rule": "a moderator's verdict"}
        return [ActionSpec(kind, {**_params(kind, reason, rules), **extra}) for kind in kinds]


def possible(post: Post, kinds: Sequence[str]) -> list[str]:
    """The kinds the platform can carry out on this post: its adapter lists in `platform_ref`
    ("impossible") what it knows will fail (on Bluesky, hiding a reply outside the bot's threads)."""
    impossible = post.platform_ref.get("impossible") or ()
    return [k for k in kinds if k not in impossible]


EVIDENCE_LIMIT = 120


def warning_facts(text: str, reasons: Sequence[Reason]) -> dict[str, str]:
    """What a warning may tell the author about why: the top reason's category (the rule, which
    the platform words plainly) and the part of their post that triggered it. Never scores or
    scorer names: those are for moderators."""
    top = reasons[0] if reasons else None
    if top is None:
        return {"category": "", "evidence": ""}
    pieces = [text[s.start : s.end] for s in top.spans[:3] if 0 <= s.start < s.end <= len(text)]
    evidence = " … ".join(" ".join(p.split()) for p in pieces)
    if len(evidence) > EVIDENCE_LIMIT:
        evidence = evidence[: EVIDENCE_LIMIT - 1] + "…"
    return {"category": top.category, "evidence": evidence}


def _params(kind: str, reason: str, rules: PolicyRules) -> dict[str, object]:
    params: dict[str, object] = {"reason": reason}
    if kind == "timeout":
        params["seconds"] = rules.timeout_seconds
    return params
