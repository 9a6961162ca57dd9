"""Policy: per-category thresholds turn scores into an outcome, with a reason a moderator can read.

Rules arrive here fully resolved (community and channel overrides already merged by the config
layer), so deciding is a pure function of the post, its scores and one `PolicyRules`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from moderation.normalise import Normalised
from moderation.scoring import ScoreResult
from moderation.types import Decision, Language, Outcome, Post, Reading, Reason, Span, below_line, threshold_line

_EXCERPT_CHARS = 80


@dataclass(frozen=True, slots=True)
class PolicyRules:
    thresholds: Mapping[str, Mapping[Outcome, float]]
    """category -> {outcome: lowest score that triggers it}."""
    shadow: bool = False
    exempt_users: frozenset[str] = frozenset()
    exempt_roles: frozenset[str] = frozenset()
    review_only: frozenset[str] = frozenset({"hate", "threat"})
    """Categories a human decides: a post that reaches one of them is at most flagged, whatever
    its other categories say (identity terms and quoted hate trip classifiers far more often than
    identity attacks happen, and counter-speech quoting hate is often rude as well)."""
    timeout_seconds: int = 3600
    unscored_languages: Outcome = Outcome.LOG
    """A post surely in a language no text scorer reads gets at least this, with a reason saying
    so: never a silent allow (flag sends such posts to a human)."""
    languages: frozenset[str] = frozenset()
    """The languages the community says it writes in: a prior for telling close languages apart
    (Danish from Norwegian), never a filter."""
    extra: Mapping[str, str] = field(default_factory=dict)
    """Anything else that changes decisions, folded into the version so old decisions stay traceable."""

    _version: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        # every decision records it: hashed once, not per post (a replay decides 100,000 posts)
        object.__setattr__(self, "_version", self._digest())

    @property
    def version(self) -> str:
        return self._version

    def raised(self, flags: Mapping[str, float]) -> PolicyRules:
        """These rules with each named category's flag threshold raised to at least the value
        given (and any stronger outcome's with it); never lowered."""
        thresholds = {c: dict(m) for c, m in self.thresholds.items()}
        for category, value in flags.items():
            cuts = thresholds.get(category, {})
            if not any(o.needs_review for o in cuts):
                cuts[Outcome.FLAG] = value
            thresholds[category] = {o: max(t, value) if o.needs_review else t for o, t in cuts.items()}
        return replace(self, thresholds=thresholds)

    def flag_threshold(self, category: str) -> float | None:
        """The lowest score of `category` that sends a post to a human or acts on it."""
        return min((t for o, t in self.thresholds.get(category, {}).items() if o.needs_review), default=None)

    def _digest(self) -> str:
        canonical = {
            "thresholds": {c: {o.value: t for o, t in sorted(m.items())} for c, m in sorted(self.thresholds.items())},
            "shadow": self.shadow,
            "exempt_users": sorted(self.exempt_users),
            "exempt_roles": sorted(self.exempt_roles),
            "review_only": sorted(self.review_only),
            "timeout_seconds": self.timeout_seconds,
            "extra": dict(sorted(self.extra.items())),
        }
        if self.unscored_languages is not Outcome.LOG:  # the default leaves earlier versions as they were
            canonical["unscored_languages"] = self.unscored_languages.value
        if self.languages:
            canonical["languages"] = sorted(self.languages)
        digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
        return "p-" + digest[:12]


@dataclass(frozen=True, slots=True)
class Policy:
    default: PolicyRules
    communities: Mapping[str, PolicyRules] = field(default_factory=dict)
    channels: Mapping[tuple[str, str], PolicyRules] = field(default_factory=dict)

    def rules_for(self, community: str, channel: str) -> PolicyRules:
        return self.channels.get((community, channel)) or self.communities.get(community) or self.default


def decide(
    post: Post,
    normalised: Normalised,
    results: Mapping[str, ScoreResult],
    scorer_versions: Mapping[str, str],
    rules: PolicyRules,
    settled_by: Sequence[str] = (),
    language: Language | None = None,
    reading: Reading = Reading.READ,
) -> Decision:
    """`settled_by`: scorers whose scores replace the others' in the categories they give, in
    order (the cascade scorer that settled a doubt, then a community's own model).
    `language`, `reading`: what the language model said, and whether the text scorers read it."""
    best = best_scores(results, settled_by)

    def finish(outcome: Outcome, reasons: list[Reason]) -> Decision:
        return Decision(
            outcome=outcome,
            scores={c: v for c, (v, _) in best.items()},
            scores_by_scorer={name: dict(r.scores) for name, r in results.items()},
            reasons=tuple(reasons),
            scorer_versions=dict(scorer_versions),
            policy_version=rules.version,
            shadow=rules.shadow,
            normalised_text=normalised.text,
            language=language.code if language is not None else None,
        )

    exempt = _exemption(post, rules)
    if exempt:
        return finish(Outcome.ALLOW, [Reason("policy", "exempt", 0.0, 0.0, Outcome.ALLOW, exempt)])
    reasons, nearest = _weighed(post, normalised, results, rules, best)
    if language is not None and (noted := _language_reason(language, reading, rules)) is not None:
        reasons += [noted] if reasons or nearest is None else [noted, nearest]  # how near it came still shows
    if not reasons:
        return finish(Outcome.ALLOW, [nearest or _NOTHING_TO_WEIGH])
    reasons = _held_for_review(reasons, rules.review_only)
    reasons.sort(key=lambda r: (-r.outcome.severity, -r.score))
    return finish(reasons[0].outcome, reasons)


_NOTHING_TO_WEIGH = Reason(
    "policy", "none", 0.0, 0.0, Outcome.ALLOW, "no scorer produced a category this policy has thresholds for"
)


def _language_reason(language: Language, reading: Reading, rules: PolicyRules) -> Reason | None:
    if reading is Reading.UNREAD:
        return Reason(
            "language",
            "language",
            0.0,
            0.0,
            rules.unscored_languages,
            f"not scored: language {language.code} (no text scorer configured reads it) "
            f"-> {rules.unscored_languages.value} (policy.unscored_languages)",
        )
    if reading is Reading.UNSURE:
        message = f"language unsure (looks like {language.code}): the English scorers read it"
        return Reason("language", "language", 0.0, 0.0, Outcome.LOG, message)
    return None


def best_scores(results: Mapping[str, ScoreResult], settled_by: Sequence[str] = ()) -> dict[str, tuple[float, str]]:
    """Each category's highest score and the scorer that gave it; a settling scorer's score
    replaces the highest in the categories it gives."""
    best: dict[str, tuple[float, str]] = {}
    for name, result in results.items():
        for category, value in result.scores.items():
            if category not in best or value > best[category][0]:
                best[category] = (value, name)
    for name in settled_by:
        best.update({c: (v, name) for c, v in results[name].scores.items()})
    return best


def _weighed(
    post: Post,
    normalised: Normalised,
    results: Mapping[str, ScoreResult],
    rules: PolicyRules,
    best: Mapping[str, tuple[float, str]],
) -> tuple[list[Reason], Reason | None]:
    """A reason for every category past one of its thresholds, and the category that came nearest
    when none did (so an allowed post still says how close it was, and to what)."""
    reasons: list[Reason] = []
    nearest: tuple[float, Reason] | None = None
    for category, thresholds in sorted(rules.thresholds.items()):
        if category not in best or not thresholds:
            continue
        value, scorer = best[category]
        result = results[scorer]
        note = result.notes.get(category)
        hit = _strongest(thresholds, value)
        if hit is None:
            threshold = min(thresholds.values())
            message = below_line(category, value, threshold, scorer) + (f"; {note}" if note else "")
            miss = Reason(scorer, category, value, threshold, Outcome.ALLOW, message, ref=result.refs.get(category))
            if nearest is None or threshold - value < nearest[0]:
                nearest = (threshold - value, miss)
            continue
        outcome, threshold = hit
        message = threshold_line(category, value, threshold, scorer, outcome)
        if category in rules.review_only and outcome.severity > Outcome.FLAG.severity:
            message += f"; capped at flag: {category} goes to human review, never straight to {outcome.value}"
            outcome = Outcome.FLAG
        spans = tuple(normalised.to_raw(a, b) for a, b in result.spans.get(category, ()))
        if evidence := _excerpt(post.text, spans):
            message += f"; evidence: {evidence}"
        if note:
            message += f"; {note}"
        reasons.append(Reason(scorer, category, value, threshold, outcome, message, spans, result.refs.get(category)))
    return reasons, nearest[1] if nearest else None


def _held_for_review(reasons: list[Reason], review_only: frozenset[str]) -> list[Reason]:
    """When a review-only category flags the post, no other category acts on it either."""
    held = sorted({r.category for r in reasons if r.category in review_only and r.outcome.needs_review})
    if not held:
        return reasons
    return [
        replace(
            r,
            outcome=Outcome.FLAG,
            message=f"{r.message}; capped at flag: the post also reached {', '.join(held)}, which a human decides",
        )
        if r.outcome.severity > Outcome.FLAG.severity
        else r
        for r in reasons
    ]


def _strongest(thresholds: Mapping[Outcome, float], value: float) -> tuple[Outcome, float] | None:
    hits = [(o, t) for o, t in thresholds.items() if value >= t]
    return max(hits, key=lambda h: h[0].severity) if hits else None


def _exemption(post: Post, rules: PolicyRules) -> str:
    if post.author.id in rules.exempt_users:
        return f"author {post.author.id} is exempt (exempt_users); scores are logged, nothing is decided"
    roles = sorted(set(post.author.roles) & rules.exempt_roles)
    if roles:
        return f"author holds exempt role {roles[0]} (exempt_roles); scores are logged, nothing is decided"
    return ""


def _excerpt(raw: str, spans: tuple[Span, ...]) -> str:
    parts = []
    for span in spans[:3]:
        piece = raw[span.start : span.end]
        if len(piece) > _EXCERPT_CHARS:
            piece = piece[:_EXCERPT_CHARS] + "…"
        parts.append(json.dumps(piece, ensure_ascii=False))
    return ", ".join(parts)
