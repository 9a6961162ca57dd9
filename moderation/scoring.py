"""The one interface every scorer implements, and how their outputs combine.

Scorers work on batches because every real model here is much faster batched; they receive the
normalised text and, when they ask for it, the post's sentence embedding, computed once per post by
the pipeline and shared by every head that wants it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from moderation.identity import Swapped
from moderation.types import ABUSE, Ref


@dataclass(frozen=True, slots=True)
class ScoringInput:
    text: str
    embedding: Sequence[float] | None = None
    branch: Sequence[float] | None = None
    """The fine-tuned top layers' vector, when the embedding model carries a head's branch."""
    language: str | None = None
    """The post's language, for a scorer that reads other languages than English (None: English
    or not known)."""


@dataclass(frozen=True, slots=True)
class ScoreResult:
    scores: Mapping[str, float]
    spans: Mapping[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    """Per category, ranges of the *normalised* text that carry the score, where the scorer can tell."""
    notes: Mapping[str, str] = field(default_factory=dict)
    """Per category, what matched, in words (rules say which rule and why)."""
    refs: Mapping[str, Ref] = field(default_factory=dict)
    """Per category, what matched as data (the fact-check's id), carried onto the decision's reason."""


@runtime_checkable
class Scorer(Protocol):
    name: str
    version: str
    categories: tuple[str, ...]
    needs_embedding: bool

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        """One result per input, in order, every score in [0, 1]."""
        ...


@runtime_checkable
class LanguageScorer(Scorer, Protocol):
    """A scorer for posts in other languages than English: the Decider sends it only the posts
    surely in one of its `languages` (each input says which), and those posts go to no English
    scorer."""

    languages: frozenset[str]


@runtime_checkable
class GroupBlind(Scorer, Protocol):
    """A scorer whose score for a text naming a group is the mean of its scores for the text and
    for `identity_swaps` copies naming other groups (moderation/identity.py): the Decider embeds
    and scores the copies with the post. A model that learned some groups' names as abuse then
    judges what a sentence says of a group more than which group it names."""

    identity_swaps: int


def swap_averaged(original: ScoreResult, copies: Sequence[ScoreResult], swapped: Sequence[Swapped]) -> ScoreResult:
    """`original` with each score the mean over it and `copies` (the scores of `swapped`), saying
    so in a note where the mean moved the score; spans and refs stay the original's."""
    if not copies:
        return original
    others = ", ".join(s.other for s in swapped)
    scores: dict[str, float] = {}
    notes = dict(original.notes)
    for category, value in original.scores.items():
        mean = (value + sum(c.scores.get(category, value) for c in copies)) / (1 + len(copies))
        scores[category] = mean
        if abs(mean - value) >= 0.005:
            why = f"{value:.2f} as written, {mean:.2f} with copies naming {others} for {swapped[0].named} (mean)"
            notes[category] = f"{notes[category]}; {why}" if category in notes else why
    return replace(original, scores=scores, notes=notes)


class ScorerError(RuntimeError):
    """A scorer cannot run (missing weights, bad checkpoint). The message says how to fix it."""


def check_results(scorer: Scorer, batch_size: int, results: Sequence[ScoreResult]) -> None:
    """Refuse a scorer's output that would make a decision meaningless rather than log garbage."""
    if len(results) != batch_size:
        raise ScorerError(f"scorer {scorer.name!r} returned {len(results)} results for {batch_size} inputs")
    for result in results:
        for category, value in result.scores.items():
            if not 0.0 <= value <= 1.0 or value != value:
                raise ScorerError(f"scorer {scorer.name!r} gave {category}={value!r}, outside [0, 1]")


ABUSE_CATEGORIES = frozenset(ABUSE)


@dataclass(frozen=True, slots=True)
class Cascade:
    """A slow, stronger scorer asked only about posts the cheap scorers are unsure of.

    A post is uncertain when its highest abuse score from the cheap scorers lies in [low, high).
    For those posts the slow scorer settles every category it produces: its score replaces the
    cheap ones there (taking the maximum instead would let it add flags but never lift a cheap
    false positive, which is most of the point). Posts outside the band never reach it."""

    scorer: Scorer
    low: float
    high: float

    def uncertain(self, results: Mapping[str, ScoreResult]) -> tuple[float, str] | None:
        """The cheap abuse score and the scorer that gave it, when it falls in the band."""
        best = max(
            ((v, name) for name, r in results.items() for c, v in r.scores.items() if c in ABUSE_CATEGORIES),
            default=(0.0, "none"),
        )
        return best if self.low <= best[0] < self.high else None
