"""The decision for a batch of posts, start to finish and free of I/O but the models: normalise,
split into windows, embed once, score, settle doubts with the cascade, check spam and domains, then
the policy's outcome and the actions it plans. The runtime (bot/) only moves posts to it and
stores what comes out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from moderation.actions import ActionPlanner, ActionSpec
from moderation.domains import DomainReputation
from moderation.normalise import normalise
from moderation.policy import Policy, PolicyRules, decide
from moderation.scoring import Cascade, Scorer, ScoreResult, ScoringInput, check_results
from moderation.spam import SpamRules
from moderation.types import Decision, Post
from moderation.windows import merge_windows, split_windows


class EmbeddingModel(Protocol):
    label: str
    """The model and, where it is not fp32, the precision it runs in: recorded with each decision."""

    def encode(
        self, texts: Sequence[str], with_branch: bool = True
    ) -> tuple[list[list[float]] | None, list[list[float]] | None]: ...


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
    ) -> None:
        self.scorers = [s for s in scorers if not isinstance(s, Cascade)]
        cascades = [s for s in scorers if isinstance(s, Cascade)]
        if len(cascades) > 1:
            raise ValueError("at most one cascade scorer")
        self.cascade = cascades[0] if cascades else None
        every = self.scorers + [c.scorer for c in cascades]
        if any(s.needs_embedding for s in every) and embedder is None:
            raise ValueError("a scorer needs the sentence embedding but no embedding model is configured")
        self.policy = policy
        self.embedder = embedder
        self.planner = planner or ActionPlanner()
        self.spam = spam
        self.domains = domains
        self.on_scored: Callable[[str, float], None] | None = None
        """told each scorer's name and seconds per batch (the service's metrics)"""
        self.shadow_overrides: dict[tuple[str, str], bool] = {}
        """(platform, community) -> shadow, as switched by moderators at run time."""
        self.versions = {s.name: s.version for s in self.scorers}
        if self.cascade is not None:
            self.versions[self.cascade.scorer.name] = self.cascade.scorer.version
        if embedder is not None:
            self.versions["embedding"] = embedder.label
        if spam is not None:
            self.versions[spam.name] = spam.version
        if domains is not None:
            self.versions[domains.name] = domains.version

    def decide(self, posts: Sequence[Post], count: bool = True) -> list[tuple[Decision, list[ActionSpec]]]:
        """Decisions for posts. `count=False` leaves spam counters alone (checking, not ingesting)."""
        normalised = [normalise(p.text) for p in posts]
        # Every post becomes one or more windows; scorers and the embedding see windows.
        windows: list[list[int]] = [[] for _ in posts]  # per post, the positions of its windows in `texts`
        starts: list[int] = []
        texts: list[str] = []
        for i, norm in enumerate(normalised):
            for a, b in split_windows(norm.text):
                windows[i].append(len(texts))
                starts.append(a)
                texts.append(norm.text[a:b])
        embeddings: list[list[float]] | list[None] = [None] * len(texts)
        branches: list[list[float]] | list[None] = [None] * len(texts)
        if self.embedder is not None:
            sentence, branch = self.embedder.encode(texts)
            embeddings = sentence if sentence is not None else embeddings
            branches = branch if branch is not None else branches
        inputs = [ScoringInput(t, e, b) for t, e, b in zip(texts, embeddings, branches, strict=True)]
        per_post: list[dict[str, ScoreResult]] = [{} for _ in posts]
        for scorer in self.scorers:
            self._score(scorer, inputs, starts, windows, range(len(posts)), per_post)
        settled = self._run_cascade(inputs, starts, windows, per_post)
        if self.spam is not None:  # in post order, so a burst inside one batch is seen
            for post, norm, results_for_post in zip(posts, normalised, per_post, strict=True):
                results_for_post[self.spam.name] = self.spam.check(post, norm, count)
        if self.domains is not None:
            for post, results_for_post in zip(posts, per_post, strict=True):
                results_for_post[self.domains.name] = self.domains.check(post)
        out = []
        for i, (post, norm, results_for_post) in enumerate(zip(posts, normalised, per_post, strict=True)):
            rules = self.rules_for(post)
            decision = decide(post, norm, results_for_post, self.versions, rules, settled.get(i))
            out.append((decision, self.planner.plan(post, decision, rules)))
        return out

    def _score(
        self,
        scorer: Scorer,
        inputs: Sequence[ScoringInput],
        starts: Sequence[int],
        windows: Sequence[Sequence[int]],
        chosen: Sequence[int],
        per_post: list[dict[str, ScoreResult]],
    ) -> None:
        """Score the windows of the `chosen` posts and keep one merged result per post."""
        picked = [j for i in chosen for j in windows[i]]
        started = time.perf_counter()
        scored = scorer.score([inputs[j] for j in picked])
        if self.on_scored is not None:
            self.on_scored(scorer.name, time.perf_counter() - started)
        check_results(scorer, len(picked), scored)
        results = dict(zip(picked, scored, strict=True))
        for i in chosen:
            per_post[i][scorer.name] = merge_windows([results[j] for j in windows[i]], [starts[j] for j in windows[i]])

    def _run_cascade(
        self,
        inputs: Sequence[ScoringInput],
        starts: Sequence[int],
        windows: Sequence[Sequence[int]],
        per_post: list[dict[str, ScoreResult]],
    ) -> dict[int, str]:
        """Ask the cascade scorer about the uncertain posts only; note why on its result."""
        if self.cascade is None:
            return {}
        c = self.cascade
        doubts = {i: d for i, results in enumerate(per_post) if (d := c.uncertain(results)) is not None}
        if not doubts:
            return {}
        self._score(c.scorer, inputs, starts, windows, list(doubts), per_post)
        for i, (value, by) in doubts.items():
            result = per_post[i][c.scorer.name]
            why = f"settled by {c.scorer.name}: {by} was unsure ({value:.2f} in {c.low:.2f}-{c.high:.2f})"
            per_post[i][c.scorer.name] = replace(
                result, notes={k: f"{result.notes[k]}; {why}" if k in result.notes else why for k in result.scores}
            )
        return {i: c.scorer.name for i in doubts}

    def rules_for(self, post: Post) -> PolicyRules:
        rules = self.policy.rules_for(post.community, post.channel)
        override = self.shadow_overrides.get((post.platform, post.community))
        return rules if override is None or override == rules.shadow else replace(rules, shadow=override)
