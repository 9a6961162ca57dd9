"""`modbot replay`: what a proposed policy or model would have done to the posts already decided.

A moderator tries a change on the community's own traffic before it goes live: every stored post
of a window is decided again under the configuration given, and the report says what moves
(outcomes, cases that would open or close, automatic actions) and, where moderators gave
verdicts, precision and recall of the flags before and after.

A scorer whose version is the one that decided a post keeps its stored scores: a threshold change
replays from scores alone, fast and exact. A scorer that is new or changed scores the post's text
again. A post whose text retention purged cannot be rescored, so it is counted apart, never
guessed. The spam rules keep their stored scores either way: they weigh the author's history at
the time (bursts, repeats), which a replay does not have. So does the language a post was
identified as: a post no text scorer read stays unread. A community's live model counts as a
scorer: its stored scores stand while its version does; a new one rescores the post.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.lab.evaluation.runner import Report
from bot.storage.records import Resolution
from bot.storage.replays import StoredForReplay
from moderation.community import NAME, Stage
from moderation.decider import READS, Decider
from moderation.normalise import normalise
from moderation.policy import decide
from moderation.scoring import ScoreResult
from moderation.types import Decision, Language, Outcome, Reading

_NO_TEXT = normalise("")
"""Replayed from stored scores, a decision needs no text: its reasons quote no spans."""


class Replayed(StrEnum):
    STORED = "from stored scores"
    RESCORED = "rescored"
    PURGED = "not replayed: text purged and a scorer changed"


@dataclass
class Tally:
    """Counts over the replayed posts, filled one post at a time."""

    how: Counter[Replayed] = field(default_factory=Counter)
    moves: Counter[tuple[Outcome, Outcome]] = field(default_factory=Counter)
    flagged: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(category, "before" | "after") -> posts flagged with that category on top"""
    verdicts: Counter[tuple[Resolution, bool, bool]] = field(default_factory=Counter)
    """(verdict, flagged before, flagged after) -> posts"""

    def add(self, item: StoredForReplay, after: Decision) -> None:
        self.moves[(item.outcome, after.outcome)] += 1
        if item.outcome.needs_review:
            self.flagged[(item.category, "before")] += 1
        if after.outcome.needs_review:
            self.flagged[(after.reasons[0].category if after.reasons else "", "after")] += 1
        if item.verdict is not None:
            self.verdicts[(item.verdict, item.outcome.needs_review, after.outcome.needs_review)] += 1


def stale_scorers(item: StoredForReplay, decider: Decider) -> set[str]:
    """Scorers of the new configuration that did not score this post as they would now (new, or
    another version; every one that reads the embedding when the embedding changed). A language's
    own scorer is never stale for a post in another language."""
    kept = {decider.spam.name if decider.spam is not None else "", decider.languages.name if decider.languages else ""}
    kept |= {s.name for s in decider.native if item.language not in s.languages}  # it never reads this post
    stale = {n for n, v in _versions(item, decider).items() if item.scorer_versions.get(n) != v and n not in kept}
    if "embedding" in stale:
        stale |= {s.name for s in decider.scorers if s.needs_embedding}
    return stale - {"embedding"}


def _versions(item: StoredForReplay, decider: Decider) -> dict[str, str]:
    """The scorers that decide this post now: a community's live model among them."""
    model = decider.communities.get((item.post.platform, item.post.community))
    return (
        {**decider.versions, NAME: model.version}
        if model is not None and model.stage is Stage.LIVE
        else decider.versions
    )


def replay(chunks: Iterable[list[StoredForReplay]], decider: Decider) -> Tally:
    tally = Tally()
    for chunk in chunks:
        fresh: list[StoredForReplay] = []
        for item in chunk:
            if not stale_scorers(item, decider):
                tally.how[Replayed.STORED] += 1
                tally.add(item, _decided(item, decider, {}))
            elif item.purged:
                tally.how[Replayed.PURGED] += 1
            else:
                fresh.append(item)
        if fresh:
            rescored = decider.decide([i.post for i in fresh], count=False)
            for item, (decision, _) in zip(fresh, rescored, strict=True):
                tally.how[Replayed.RESCORED] += 1
                tally.add(item, _decided(item, decider, decision.scores_by_scorer))
    return tally


def _decided(item: StoredForReplay, decider: Decider, rescored: Mapping[str, Mapping[str, float]]) -> Decision:
    """The new configuration's decision from the stored scores of its unchanged scorers and the
    new scores of the rest (a scorer the configuration no longer has is left out)."""
    stale = stale_scorers(item, decider)
    results: dict[str, ScoreResult] = {}
    for name in _versions(item, decider):
        scores = rescored.get(name) if name in stale else item.scores_by_scorer.get(name)
        if scores is not None:
            results[name] = ScoreResult(dict(scores))
    cascade = decider.cascade.scorer.name if decider.cascade is not None else None
    # a cascade scorer scores only what it settles, a community model only what its verdicts covered
    settled = tuple(name for name in (cascade, NAME) if name in results)
    text = normalise(item.post.text) if rescored else _NO_TEXT
    rules = decider.rules_for(item.post)
    language, reading = _read_as(item, decider, results)
    return decide(item.post, text, results, decider.versions, rules, settled, language, reading)


def _read_as(
    item: StoredForReplay, decider: Decider, results: Mapping[str, ScoreResult]
) -> tuple[Language | None, Reading]:
    """How the post is read with the scores it now has: in another language, by that language's
    own scorer alone; with English scores, the language was unsure; with neither, no scorer read it."""
    if item.language is None or item.language in READS:
        return (Language(item.language, True) if item.language else None), Reading.READ
    english = any(s.name in results for s in decider.scorers)
    if not english and any(s.name in results and item.language in s.languages for s in decider.native):
        return Language(item.language, True), Reading.READ
    return Language(item.language, not english), Reading.UNSURE if english else Reading.UNREAD


def report(tally: Tally, command: str, versions: dict[str, str]) -> Report:
    moved = sum(n for (before, after), n in tally.moves.items() if before is not after)
    replayed = sum(tally.moves.values())
    out = Report("replay", command, versions)
    out.figures = {str(how): tally.how[how] for how in Replayed}
    out.figures |= {
        "outcomes changed": moved,
        "share changed": moved / replayed if replayed else 0.0,
        "cases that would open": _count(tally, lambda b, a: not b.needs_review and a.needs_review),
        "cases that would not have opened": _count(tally, lambda b, a: b.needs_review and not a.needs_review),
        "automatic actions before": _count(tally, lambda b, a: b.is_action),
        "automatic actions after": _count(tally, lambda b, a: a.is_action),
    }
    out.figures |= _with_verdicts(tally)
    out.tables["outcome before -> after"] = [
        {"before": b.value, "after": a.value, "posts": n}
        for (b, a), n in sorted(tally.moves.items(), key=lambda kv: (kv[0][0].severity, kv[0][1].severity))
    ]
    categories = sorted({c for c, _ in tally.flagged})
    out.tables["flagged per category (top reason)"] = [
        {"category": c or "(none)", "before": tally.flagged[(c, "before")], "after": tally.flagged[(c, "after")]}
        for c in categories
    ]
    return out


def _count(tally: Tally, moved: Callable[[Outcome, Outcome], bool]) -> int:
    return sum(n for (b, a), n in tally.moves.items() if moved(b, a))


def _with_verdicts(tally: Tally) -> dict[str, float | int]:
    """Precision of the flags among the posts moderators judged, and recall of the ones they
    confirmed, before and after. Only judged posts count: a post the bot never flagged and no
    one reported has no verdict to compare with."""
    confirmed, overturned = Resolution.REMOVED, Resolution.APPROVED
    v = tally.verdicts
    out: dict[str, float | int] = {
        "verdicts": sum(v.values()),
        "confirmed": sum(n for (r, _, _), n in v.items() if r is confirmed),
        "overturned": sum(n for (r, _, _), n in v.items() if r is overturned),
    }
    for when, index in (("before", 1), ("after", 2)):
        kept: Counter[Resolution] = Counter()
        for key, n in v.items():
            if key[index]:
                kept[key[0]] += n
        flagged = kept[confirmed] + kept[overturned]
        out[f"precision {when} (confirmed / judged flags)"] = kept[confirmed] / flagged if flagged else 0.0
        total = int(out["confirmed"])
        out[f"recall {when} (confirmed posts still flagged)"] = kept[confirmed] / total if total else 0.0
    return out
