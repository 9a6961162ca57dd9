"""The decision for a batch of posts, start to finish and free of I/O but the models: normalise,
split into windows, embed once, score, settle doubts with the cascade, check spam and domains, then
the policy's outcome and the actions it plans. The runtime (bot/) only moves posts to it and
stores what comes out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from moderation.actions import ActionPlanner, ActionSpec
from moderation.community import NAME, SHADOW_NAME, CommunityModel, Stage
from moderation.domains import DomainReputation
from moderation.identity import Swapped, Swaps
from moderation.normalise import Normalised, normalise
from moderation.policy import Policy, PolicyRules, best_scores, decide
from moderation.scoring import (
    Cascade,
    GroupBlind,
    LanguageScorer,
    Scorer,
    ScoreResult,
    ScoringInput,
    check_results,
    swap_averaged,
)
from moderation.spam import SpamRules
from moderation.types import Decision, Language, Post, Reading
from moderation.windows import merge_windows, split_windows


class EmbeddingModel(Protocol):
    label: str
    """The model and, where it is not fp32, the precision it runs in: recorded with each decision."""

    def encode(
        self, texts: Sequence[str], with_branch: bool = True
    ) -> tuple[list[list[float]] | None, list[list[float]] | None]: ...


class LanguageModel(Protocol):
    name: str
    version: str

    def identify(
        self, texts: Sequence[str], hints: Sequence[Sequence[str]], expected: Sequence[frozenset[str]] | None = None
    ) -> list[Language]:
        """One answer per text; `hints` are the platform's language tags for it (may be empty),
        `expected` the languages its community says it writes in."""
        ...


READS = frozenset({"en"})
"""The languages the English scorers read; a LanguageScorer adds its own."""


class Decider:
    """The synchronous core: a batch of posts in, one decision each out. No I/O but the models."""

    def __init__(
        self,
        scorers: Sequence[Scorer | Cascade],
        policy: Policy,
        embedder: EmbeddingModel | None = None,
        planner: ActionPlanner | None = None,
        spam: SpamRules | None = None,
        domains: DomainReputation | None = None,
        languages: LanguageModel | None = None,
    ) -> None:
        """`languages`: without one, every post is scored as if in a language the scorers read.
        Among `scorers`, each LanguageScorer gets the posts surely in its languages, which no other
        scorer sees."""
        self.native = [s for s in scorers if isinstance(s, LanguageScorer)]
        self.scorers = [s for s in scorers if not isinstance(s, Cascade | LanguageScorer)]
        self.reads = READS.union(*(s.languages for s in self.native))
        cascades = [s for s in scorers if isinstance(s, Cascade)]
        if len(cascades) > 1:
            raise ValueError("at most one cascade scorer")
        self.cascade = cascades[0] if cascades else None
        every = self.scorers + [c.scorer for c in cascades]
        if any(s.needs_embedding for s in every) and embedder is None:
            raise ValueError("a scorer needs the sentence embedding but no embedding model is configured")
        swaps = max((s.identity_swaps for s in every if isinstance(s, GroupBlind)), default=0)
        self.swaps = Swaps(swaps) if swaps else None
        """copies of each window naming other groups, for the GroupBlind scorers"""
        self.policy = policy
        self.embedder = embedder
        self.planner = planner or ActionPlanner()
        self.spam = spam
        self.domains = domains
        self.languages = languages
        self.on_scored: Callable[[str, float], None] | None = None
        """told each scorer's name and seconds per batch (the service's metrics)"""
        self.shadow_overrides: dict[tuple[str, str], bool] = {}
        """(platform, community) -> shadow, as switched by moderators at run time."""
        self.threshold_overrides: dict[tuple[str, str], dict[str, float]] = {}
        """(platform, community) -> category -> flag threshold accepted from calibration (raises only)"""
        self._raised: dict[tuple[str, tuple[tuple[str, float], ...]], PolicyRules] = {}
        """rules with accepted thresholds, by the rules' version and the thresholds (hashed once)"""
        self.communities: dict[tuple[str, str], CommunityModel] = {}
        """(platform, community) -> that community's own model (moderation/community.py)"""
        self.versions = {s.name: s.version for s in [*self.scorers, *self.native]}
        if self.cascade is not None:
            self.versions[self.cascade.scorer.name] = self.cascade.scorer.version
        if embedder is not None:
            self.versions["embedding"] = embedder.label
        if spam is not None:
            self.versions[spam.name] = spam.version
        if domains is not None:
            self.versions[domains.name] = domains.version
        if languages is not None:
            self.versions[languages.name] = languages.version

    def decide(
        self, posts: Sequence[Post], count: bool = True, route: bool = True
    ) -> list[tuple[Decision, list[ActionSpec]]]:
        """Decisions for posts. `count=False` leaves spam counters alone (checking, not ingesting).
        `route=False`: the caller has settled the language (the scoring API answers only for the
        English it accepted), so every post is read and none is identified."""
        batch = self._scored(posts, route, count)
        out = []
        for one in batch.posts:
            rules = self.rules_for(one.post)
            decision = self._decided(one, batch, rules)
            out.append((decision, self.planner.plan(one.post, decision, rules)))
        return out

    def _scored(self, posts: Sequence[Post], route: bool, count: bool) -> _Batch:
        """The posts read, embedded and scored: the text scorers (the cascade included), then the
        spam and domain rules."""
        languages = self.languages if route else None
        expected = [self.rules_for(p).languages for p in posts] if languages else []
        batch = _Batch.of(posts, self.embedder, languages, expected, self.reads, self.swaps)
        english = [one for one in batch.posts if one.english]
        for scorer in self.scorers:
            self._score(scorer, batch, english)
        for native in self.native:
            self._score(native, batch, [one for one in batch.posts if one.native in native.languages])
        self._run_cascade(batch)
        for one in batch.posts:  # in post order, so a burst inside one batch is seen
            if self.spam is not None:
                one.results[self.spam.name] = self.spam.check(one.post, one.text, count)
            if self.domains is not None:
                one.results[self.domains.name] = self.domains.check(one.post)
        return batch

    def read(self, posts: Sequence[Post]) -> list[tuple[dict[str, float], list[float] | None]]:
        """What a community model learns from and weighs, per post: the scores the policy would
        weigh (no community model's; the spam rules count nothing) and the abuse model's
        sentence vector (None where no English scorer read the post)."""
        batch = self._scored(posts, route=True, count=False)
        return [(self._base(one), batch.vector(one) if one.english else None) for one in batch.posts]

    @staticmethod
    def _base(one: _InFlight) -> dict[str, float]:
        settled = (one.settled_by,) if one.settled_by else ()
        return {c: v for c, (v, _) in best_scores(one.results, settled).items()}

    def _decided(self, one: _InFlight, batch: _Batch, rules: PolicyRules) -> Decision:
        """The policy's decision, with the community's own model where it has one: a live model's
        scores settle the categories it adjusts; a shadow model's are logged beside them."""
        settled: tuple[str, ...] = (one.settled_by,) if one.settled_by else ()
        model = self.communities.get((one.post.platform, one.post.community)) if one.english else None
        if model is None:
            return decide(one.post, one.text, one.results, self.versions, rules, settled, one.language, one.reading)
        flags = {c: t for c in model.adjustments if (t := rules.flag_threshold(c)) is not None}
        adjusted = model.adjust(self._base(one), batch.vector(one), flags)
        versions = {**self.versions, NAME: model.version} if adjusted.scores else self.versions
        if adjusted.scores and model.stage is Stage.LIVE:
            one.results[NAME] = adjusted
            settled += (NAME,)
        decision = decide(one.post, one.text, one.results, versions, rules, settled, one.language, one.reading)
        if adjusted.scores and model.stage is Stage.SHADOW:
            decision = replace(decision, scores_by_scorer={**decision.scores_by_scorer, SHADOW_NAME: adjusted.scores})
        return decision

    def _score(self, scorer: Scorer, batch: _Batch, chosen: Sequence[_InFlight]) -> None:
        """Score the windows of the `chosen` posts and keep one merged result per post; a
        GroupBlind scorer scores each window's copies too and keeps the mean."""
        picked = [j for one in chosen for j in one.windows]
        swaps = scorer.identity_swaps if isinstance(scorer, GroupBlind) else 0
        copies = {j: found[:swaps] for j in picked if swaps and (found := batch.copies.get(j))}
        extra = [k for found in copies.values() for k, _ in found]
        started = time.perf_counter()
        scored = scorer.score([batch.inputs[j] for j in picked + extra])
        if self.on_scored is not None:
            self.on_scored(scorer.name, time.perf_counter() - started)
        check_results(scorer, len(picked) + len(extra), scored)
        results = dict(zip(picked + extra, scored, strict=True))
        for j, swapped in copies.items():
            results[j] = swap_averaged(results[j], [results[k] for k, _ in swapped], [c for _, c in swapped])
        for one in chosen:
            one.results[scorer.name] = merge_windows(
                [results[j] for j in one.windows], [batch.starts[j] for j in one.windows]
            )

    def _run_cascade(self, batch: _Batch) -> None:
        """Ask the cascade scorer about the uncertain posts only; note why on its result."""
        if self.cascade is None:
            return
        c = self.cascade
        doubts = [(one, d) for one in batch.posts if one.english and (d := c.uncertain(one.results)) is not None]
        if not doubts:
            return
        self._score(c.scorer, batch, [one for one, _ in doubts])
        for one, (value, by) in doubts:
            result = one.results[c.scorer.name]
            why = f"settled by {c.scorer.name}: {by} was unsure ({value:.2f} in {c.low:.2f}-{c.high:.2f})"
            one.results[c.scorer.name] = replace(
                result, notes={k: f"{result.notes[k]}; {why}" if k in result.notes else why for k in result.scores}
            )
            one.settled_by = c.scorer.name

    def rules_for(self, post: Post) -> PolicyRules:
        rules = self.policy.rules_for(post.community, post.channel)
        if accepted := self.threshold_overrides.get((post.platform, post.community)):
            key = (rules.version, tuple(sorted(accepted.items())))
            if (raised := self._raised.get(key)) is None:
                raised = self._raised[key] = rules.raised(accepted)
            rules = raised
        override = self.shadow_overrides.get((post.platform, post.community))
        return rules if override is None or override == rules.shadow else replace(rules, shadow=override)


@dataclass(slots=True)
class _InFlight:
    """One post on its way through the Decider: what came in, what was read from it, and what
    each scorer said (the policy decides from this alone)."""

    post: Post
    text: Normalised
    windows: list[int]
    """where this post's windows are in its batch's `inputs`"""
    results: dict[str, ScoreResult] = field(default_factory=dict)
    settled_by: str | None = None
    """the cascade scorer's name, where it settled a doubt about this post"""
    language: Language | None = None
    reading: Reading = Reading.READ
    native: str | None = None
    """the language whose own scorer reads this post (alone where the language is sure, with the
    English scorers where not); None: the English scorers alone"""

    @property
    def english(self) -> bool:
        """Whether the English scorers read this post."""
        return self.reading is Reading.UNSURE or (self.reading is Reading.READ and self.native is None)


@dataclass(frozen=True, slots=True)
class _Batch:
    """The posts of one `decide` call and their windows, embedded together: scorers see windows
    of every post at once, and each result goes back to the post it came from."""

    posts: list[_InFlight]
    inputs: list[ScoringInput]
    starts: list[int]
    """where each window starts in its post's normalised text (to map evidence back)"""
    copies: dict[int, list[tuple[int, Swapped]]] = field(default_factory=dict)
    """window -> its copies naming other groups and where each is in `inputs` (after every window)"""

    def vector(self, one: _InFlight) -> list[float] | None:
        """The abuse model's sentence vector of a post: the mean over its windows."""
        vectors = [v for j in one.windows if (v := self.inputs[j].branch) is not None]
        return [float(x) for x in np.mean(vectors, axis=0)] if vectors else None

    @classmethod
    def of(
        cls,
        posts: Sequence[Post],
        embedder: EmbeddingModel | None,
        languages: LanguageModel | None,
        expected: Sequence[frozenset[str]],
        reads: frozenset[str] = READS,
        swaps: Swaps | None = None,
    ) -> _Batch:
        """Only the windows the English scorers read are embedded, with their `swaps` copies;
        `expected`: the languages each post's community writes in."""
        flights: list[_InFlight] = []
        starts: list[int] = []
        texts: list[str] = []
        natives: list[str | None] = []
        english_too: list[bool] = []
        found = languages.identify([p.text for p in posts], [_tags(p) for p in posts], expected) if languages else None
        for i, post in enumerate(posts):
            norm = normalise(post.text)
            one = _InFlight(post, norm, [])
            if found is not None:
                one.language, one.reading = found[i], reading_of(found[i], reads)
                if found[i].code in reads and found[i].code not in READS:
                    one.native = found[i].code  # unsure: the English scorers read it too
            flights.append(one)
            if one.reading is Reading.UNREAD:
                continue  # never embedded: no scorer reads it
            for a, b in split_windows(norm.text):
                one.windows.append(len(texts))
                starts.append(a)
                texts.append(norm.text[a:b])
                natives.append(one.native)
                english_too.append(one.english)
        copies: dict[int, list[tuple[int, Swapped]]] = {}
        for j in range(len(texts)):
            for copy in swaps.of(texts[j]) if swaps is not None and english_too[j] else ():
                copies.setdefault(j, []).append((len(texts), copy))
                texts.append(copy.text)
                natives.append(natives[j])
                english_too.append(True)
        english = [j for j, wanted in enumerate(english_too) if wanted]
        sentence: list[list[float]] | None = None
        branch: list[list[float]] | None = None
        if embedder is not None and english:
            sentence, branch = embedder.encode([texts[j] for j in english])
        where = {j: k for k, j in enumerate(english)}
        inputs = []
        for j, (text, code) in enumerate(zip(texts, natives, strict=True)):
            k = where.get(j)
            inputs.append(
                ScoringInput(
                    text,
                    sentence[k] if sentence is not None and k is not None else None,
                    branch[k] if branch is not None and k is not None else None,
                    code,
                )
            )
        return cls(flights, inputs, starts, copies)


def _tags(post: Post) -> list[str]:
    """The platform's own language tags for a post (Bluesky's `langs`), if it gave any."""
    tags = post.platform_ref.get("langs")
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def reading_of(found: Language, reads: frozenset[str] = READS) -> Reading:
    """Whether the text scorers (reading `reads`) read a post the language model said this of."""
    if found.code is None or found.code in READS:
        return Reading.READ
    if not found.sure:
        return Reading.UNSURE  # the English scorers read it, with a note saying so
    return Reading.READ if found.code in reads else Reading.UNREAD
