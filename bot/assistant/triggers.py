"""Which decided posts get a draft, with each community's reply settings, and the task each
trigger gives the model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import ReplyConfig, ReplyTemplates
from moderation.actions import DRAFT, ActionSpec
from moderation.types import Decision, Outcome, Post

TASKS = {
    "question": "Answer the member's question in one or two sentences, using only the facts above.",
    "rephrase": (
        "The facts above answer the member's question. Reword them as a short, friendly reply in one or two "
        "sentences. Add nothing that the facts do not say."
    ),
    "request": "Write a short, friendly reply to the member on behalf of the moderators, using only the facts above.",
    "misinformation": (
        "Write one short, neutral sentence telling readers that fact-checkers rated a similar claim, as stated "
        "above. Add no other facts and blame no one."
    ),
    "rule_reminder": "Write one short, kind sentence reminding the member of the community rule above.",
}
RULE_WORDS = {
    "toxicity": "be respectful kind civil no insults",
    "harassment": "no insults personal attacks harassment be kind",
    "threat": "no threats violence",
    "hate": "no hate speech discrimination identity",
    "profanity": "language profanity swearing",
    "sexual": "no sexual explicit content",
    "spam": "no spam advertising self-promotion links",
    "misinformation": "misinformation sources accuracy",
}


@dataclass(frozen=True, slots=True)
class CommunityReply:
    """[reply] with a community's overrides applied."""

    persona: str
    knowledge_dir: Path | None
    triggers: frozenset[str]
    auto_send: bool
    templates: ReplyTemplates

    @classmethod
    def resolve(cls, cfg: ReplyConfig, community: str) -> CommunityReply:
        o = cfg.communities.get(community)

        def pick(name: str) -> Any:
            value = getattr(o, name) if o is not None else None
            return getattr(cfg, name) if value is None else value

        return cls(
            pick("persona"), pick("knowledge_dir"), frozenset(pick("triggers")), pick("auto_send"), pick("templates")
        )


class DraftTriggers:
    """Which decided posts get a draft: at most one each, the most useful first."""

    def __init__(self, cfg: ReplyConfig) -> None:
        self.cfg = cfg
        self.rule_outcomes = frozenset(Outcome(o) for o in cfg.rule_reminder_outcomes)

    def requests(self, post: Post, decision: Decision) -> list[ActionSpec]:
        triggers = CommunityReply.resolve(self.cfg, post.community).triggers
        if (
            "question" in triggers
            and post.platform_ref.get("asks_bot")
            and decision.outcome in (Outcome.ALLOW, Outcome.LOG)
        ):
            return [ActionSpec(DRAFT, {"trigger": "question"})]
        if "misinformation" in triggers:
            for reason in decision.reasons:
                if (claim := reason.fact_check) is not None:
                    return [ActionSpec(DRAFT, {"trigger": "misinformation", "claim_id": claim})]
        if "rule_reminder" in triggers and decision.outcome in self.rule_outcomes and decision.reasons:
            return [ActionSpec(DRAFT, {"trigger": "rule_reminder", "category": decision.reasons[0].category})]
        return []
