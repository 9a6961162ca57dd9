"""`modbot learn`: a community's own model from its moderators' verdicts, kept in the data dir,
shadowed first, and promoted only past the guard-rails.

The guard-rails are checked with the model live on the project's functional suite
(moderation/functional.py): its floors must hold, and no identity's subgroup, BPSN or BNSP AUC
on the suite's hate cases may fall below 0.90 where it was at or above it without the model. A
community's verdicts can teach it that swearing is fine there; they cannot teach it that a
group's name is abuse.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from bot.lab.evaluation.abuse import FUNCTIONAL_FLOORS, functional
from bot.lab.evaluation.runner import decide_texts
from bot.perspective.scoring import api_post
from bot.storage.api_keys import Suggested
from bot.storage.records import Resolution
from bot.storage.replays import StoredForReplay, Verdicted
from model.community import Example, load, save
from moderation.community import SHADOW_NAME, CommunityModel, Stage
from moderation.decider import Decider
from moderation.functional import cases
from moderation.metrics import bias_aucs
from moderation.policy import PolicyRules
from moderation.types import Post

BIAS_FLOOR = 0.90
_EVAL = ("eval", "eval")
"""the platform and community the evaluation helpers decide their texts as"""


def examples(decider: Decider, judged: Sequence[Verdicted]) -> list[Example]:
    """The verdicts with what the shared models make of each post now (the community model
    adjusts today's scores, so it learns from them, not from scores of an older model)."""
    read = _read(decider, [v.post for v in judged])
    return [
        Example(scores, vector, v.category, v.confirmed, v.moderator)
        for v, (scores, vector) in zip(judged, read, strict=True)
        if vector is not None  # read by a language model of its own: nothing for this model
    ]


def suggested_examples(decider: Decider, community: str, suggested: Sequence[Suggested]) -> list[Example]:
    """The Perspective API's suggested scores (`comments:suggestscore`) as verdicts: a client
    says the comment deserves the category (0.5 or more) or does not. Each API key counts as one
    moderator, so one client's suggestions are capped like one moderator's verdicts."""
    now = datetime.now(UTC)
    read = _read(decider, [api_post(s.text, community, f"suggestion-{s.id}", now) for s in suggested])
    return [
        Example(scores, vector, s.category, s.value >= 0.5, f"api key {s.key}")
        for s, (scores, vector) in zip(suggested, read, strict=True)
        if vector is not None
    ]


def _read(decider: Decider, posts: Sequence[Post]) -> list[tuple[dict[str, float], list[float] | None]]:
    """`Decider.read` in batches of 64, as the pipeline decides."""
    return [found for start in range(0, len(posts), 64) for found in decider.read(posts[start : start + 64])]


@dataclass(frozen=True, slots=True)
class Guarded:
    refusals: list[str]
    """why the model may not go live; empty: it may"""
    figures: Mapping[str, float]


def guard(decider: Decider, model: CommunityModel) -> Guarded:
    """The functional suite and its identities' bias AUCs with the model live, against the floors."""
    before = _bias(decider)
    decider.communities[_EVAL] = replace(model, platform=_EVAL[0], community=_EVAL[1], stage=Stage.LIVE)
    try:
        report, _ = functional(decider, "modbot learn promote")
        after = _bias(decider)
    finally:
        del decider.communities[_EVAL]
    refusals = []
    overall = float(report.figures["pass rate"])
    if overall < FUNCTIONAL_FLOORS["overall"]:
        refusals.append(f"functional suite pass rate {overall:.3f} < {FUNCTIONAL_FLOORS['overall']:.2f}")
    for row in report.tables["per functionality"]:
        floor = FUNCTIONAL_FLOORS.get(str(row["functionality"]).split(".")[0])
        if floor is not None and float(row["pass rate"]) < floor:
            refusals.append(f"functional {row['functionality']} pass rate {float(row['pass rate']):.3f} < {floor:.2f}")
    for name, value in sorted(after.items()):
        if value < BIAS_FLOOR <= before.get(name, 1.0):
            refusals.append(f"{name} {value:.3f} < {BIAS_FLOOR:.2f} (was {before[name]:.3f} without the model)")
    figures = {"functional pass rate": overall, **{f"{k} (with)": v for k, v in after.items()}}
    return Guarded(refusals, figures)


def _bias(decider: Decider) -> dict[str, float]:
    """Per identity of the functional suite's hate cases: subgroup, BPSN and BNSP AUC of the
    decision's hate score (the suite's FLAG cases are the positives)."""
    suite = [c for c in cases() if c.category == "hate" and c.identity]
    scores = [d.scores.get("hate", 0.0) for d in decide_texts(decider, [c.text for c in suite])]
    labels = [c.expect.value == "flag" for c in suite]
    out: dict[str, float] = {}
    for identity in sorted({c.identity for c in suite}):
        member = [c.identity == identity for c in suite]
        r = bias_aucs(labels, scores, member, identity)
        for kind, value in (("subgroup", r.subgroup_auc), ("BPSN", r.bpsn_auc), ("BNSP", r.bnsp_auc)):
            if value == value:  # an identity without both kinds of case has no AUC
                out[f"{identity} {kind} AUC"] = value
    return out


def promote(path: Path, decider: Decider) -> Guarded:
    """Live if the guard-rails hold; the file is rewritten only then."""
    model = load(path)
    checked = guard(decider, model)
    if not checked.refusals:
        save(replace(model, stage=Stage.LIVE), path)
    return checked


def shadow_figures(chunks: Iterable[list[StoredForReplay]], platform: str, rules: PolicyRules) -> Counter[str]:
    """What a shadow model would have done to the community's flags since it was fitted: the
    flags it would have cleared and kept, and of those the ones moderators confirmed or
    overturned (a cleared flag that was confirmed is one a moderator would have missed)."""
    seen: Counter[str] = Counter()
    for item in (i for chunk in chunks for i in chunk if i.post.platform == platform):
        shadow = item.scores_by_scorer.get(SHADOW_NAME, {})
        seen["decisions the model scored"] += bool(shadow)
        threshold = rules.flag_threshold(item.category)
        if not item.outcome.needs_review or item.category not in shadow or threshold is None:
            continue
        fate = "cleared" if shadow[item.category] < threshold else "kept"
        seen[f"flags it would have {fate}"] += 1
        if item.verdict is not None:
            judged = "confirmed" if item.verdict is Resolution.REMOVED else "overturned"
            seen[f"{fate}, {judged} by a moderator"] += 1
    return seen
