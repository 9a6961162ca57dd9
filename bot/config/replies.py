"""Settings of the reply assistant: triggers, templates, persona, per-community overrides."""

from __future__ import annotations

import string
from typing import Literal

from pydantic import (
    Field,
    field_validator,
)

from bot.config.base import OutcomeName, Score, Strict, UserPath

DraftTrigger = Literal["question", "request", "misinformation", "rule_reminder"]
TEMPLATE_FIELDS: dict[str, frozenset[str]] = {
    "misinformation": frozenset({"claim", "rating", "publisher", "url"}),
    "rule_reminder": frozenset({"rule", "rule_text", "url"}),
}


def _check_template(kind: str, template: str) -> str:
    """A template may use only the fields its trigger fills, so a typo fails at start, not at 3 a.m."""
    try:
        used = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"not a valid template: {exc}") from exc
    unknown = sorted(used - TEMPLATE_FIELDS[kind])
    if unknown:
        allowed = ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS[kind]))
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; allowed: {allowed}")
    return template


class ReplyTemplates(Strict):
    misinformation: str = Field(
        'For context: fact-checkers ({publisher}) rated a similar claim {rating}: "{claim}" {url}',
        max_length=1000,
    )
    rule_reminder: str = Field('A friendly reminder of our rule "{rule}": {rule_text} {url}', max_length=1000)

    _misinformation = field_validator("misinformation")(
        classmethod(lambda cls, v: _check_template("misinformation", v))
    )
    _rule_reminder = field_validator("rule_reminder")(classmethod(lambda cls, v: _check_template("rule_reminder", v)))


DEFAULT_PERSONA = (
    "You are modbot, the assistant of this community's moderators. You answer members briefly and politely, "
    "using only the facts you are given; when they do not answer the question, say that a moderator will follow up."
)


class ReplyCommunityConfig(Strict):
    """Per-community reply settings; unset fields inherit from [reply]."""

    persona: str | None = Field(None, max_length=4000)
    knowledge_dir: UserPath | None = None
    triggers: list[DraftTrigger] | None = None
    auto_send: bool | None = None
    templates: ReplyTemplates | None = None


class ReplyConfig(Strict):
    enabled: bool = False
    """Draft replies with the local model (loads it: ~0.5 GB of memory for the default)."""
    model: str = ""
    """A local model folder or a hub id already in the local Hugging Face cache; empty: the bundled
    SmolLM2-135M-Instruct."""
    dtype: Literal["float32", "bfloat16"] = "float32"
    device: str = Field("cpu", pattern=r"^(cpu|cuda(:\d+)?|mps)$")
    threads: int = Field(0, ge=0, le=512)
    """threads for generation; 0: the runtime's default."""
    runtime: Literal["auto", "ctranslate2", "transformers"] = "auto"
    """auto: CTranslate2 on CPU when installed (2-3x faster here), else transformers."""
    quantize: Literal["none", "int8"] = "none"
    """CTranslate2 only: int8 weights (no faster on AVX2 here, and it changed the bundled model's answers)."""
    max_new_tokens: int = Field(80, ge=8, le=2048)
    timeout_seconds: float = Field(60.0, ge=1.0, le=3600)
    """Generation of one batch stops after this long; what was written by then is gated as usual."""
    batch_size: int = Field(4, ge=1, le=64)
    triggers: list[DraftTrigger] = ["question", "request", "misinformation", "rule_reminder"]
    rule_reminder_outcomes: list[OutcomeName] = ["flag"]
    """Decisions that get a rule-reminder draft (a removed post cannot be replied to)."""
    model_for: list[Literal["misinformation", "rule_reminder"]] = []
    """Triggers the model writes instead of their template (requests always use the model)."""
    answers: Literal["quoted", "rephrased"] = "quoted"
    """A question is answered only when a knowledge section answers it, with that section's own
    sentences quoted; "rephrased" has the model reword the quote for tone (kept only if every
    sentence of it is grounded in the quote, else the quote is proposed)."""
    answerability: Score | None = None
    """How sure the answerability score must be that a section answers the question; empty: the
    threshold fitted with the shipped weights (`modbot train answerability`)."""
    persona: str = Field(DEFAULT_PERSONA, max_length=4000)
    knowledge_dir: UserPath | None = None
    """Markdown files (rules, FAQ, links) drafts are grounded on; files named rules*.md hold the rules."""
    injection_threshold: Score = 0.5
    """A post addressed to the assistant that the injection-text model scores at or above this is
    held back from the model, like one the injection rules match (1.0: the rules alone)."""
    gate_threshold: Score = 0.5
    """A draft the filter scores at or above this in any category is rejected (stricter than posts)."""
    auto_send: bool = False
    """Send drafts that pass every gate without a moderator (never in shadow mode)."""
    auto_send_per_hour: int = Field(10, ge=1, le=10_000)
    templates: ReplyTemplates = ReplyTemplates()
    communities: dict[str, ReplyCommunityConfig] = {}
