"""Thresholds proposed from moderators' verdicts: the lowest flag threshold whose flags the
community's moderators confirm at the precision it asks for, with a confidence bound.

Pure: verdicts in, a proposal with its evidence out. Nothing here changes a policy; a moderator
reads the proposal (`modbot calibrate`) and decides.

Why a lower confidence bound and a minimum: 9 confirmed flags out of 10 look like 90 % precision,
but with ten verdicts the truth could be 60 %. The proposal must hold for the flags to come, so
it is judged by the Wilson lower bound of its precision, and nothing is proposed from fewer than
`minimum` verdicts. Verdicts exist only for posts that were flagged, so the evidence says nothing
about scores below the current threshold: a proposal can raise a threshold or keep it, never
lower it. Moderators' reports of posts it allowed ("should have been flagged") are counted and
shown, but they say nothing of how many other allowed posts between the two thresholds the
moderators would overturn, so they do not lower it either.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Judged:
    score: float
    """the category's score on the decision the moderator judged"""
    confirmed: bool
    """True: the moderator upheld the flag (removed the post); False: overturned it"""


class Verdict(StrEnum):
    """What the proposal says, so a dashboard and the CLI can word and colour it alike."""

    RAISE = "raise"
    KEEP = "keep"
    TOO_FEW = "too few verdicts"
    UNREACHABLE = "target not reachable"


@dataclass(frozen=True, slots=True)
class Proposal:
    category: str
    verdict: Verdict
    current: float | None
    """the policy's flag threshold now (None: the category does not flag)"""
    threshold: float | None
    """proposed flag threshold; None unless the verdict is RAISE or KEEP"""
    confirmed: int
    overturned: int
    precision_now: float
    precision_then: float
    """among the judged posts the proposed threshold still flags"""
    lower_bound: float
    """Wilson lower bound of `precision_then` at the confidence asked for"""
    kept: int
    """judged posts the proposed threshold still flags"""
    why: str
    missed: int = 0
    """confirmed posts that score below the threshold now: reported by a moderator as missed (or
    flagged under an earlier, lower threshold)"""


def wilson_lower(successes: int, trials: int, confidence: float = 0.95) -> float:
    if trials == 0:
        return 0.0
    z = _z(confidence)
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, (centre - spread) / (1 + z * z / trials))


def _z(confidence: float) -> float:
    """The two-sided normal quantile, by bisection (no scipy in the pure layer)."""
    low, high = 0.0, 10.0
    for _ in range(80):
        mid = (low + high) / 2
        if math.erf(mid / math.sqrt(2)) < confidence:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def propose(
    category: str,
    judged: Sequence[Judged],
    current: float | None,
    target: float = 0.8,
    confidence: float = 0.95,
    minimum: int = 30,
) -> Proposal:
    """The lowest threshold at or above `current` whose judged flags reach `target` precision
    at the lower bound (ties in score are kept or dropped together). Judged posts below
    `current` were reported as missed: they are counted, never taken for flags."""
    missed = sum(j.confirmed for j in judged if current is not None and j.score < current)
    judged = [j for j in judged if current is None or j.score >= current]
    confirmed = sum(j.confirmed for j in judged)
    overturned = len(judged) - confirmed
    now = confirmed / len(judged) if judged else 0.0

    def result(verdict: Verdict, threshold: float | None, hits: int, kept: int, why: str) -> Proposal:
        then = hits / kept if kept else 0.0
        bound = wilson_lower(hits, kept, confidence)
        if missed:
            why += f"; {missed} confirmed posts score below it (reported as missed, or flagged under a lower threshold)"
        return Proposal(
            category, verdict, current, threshold, confirmed, overturned, now, then, bound, kept, why, missed
        )

    if len(judged) < minimum:
        why = f"{len(judged)} verdicts; at least {minimum} are needed before anything is proposed"
        return result(Verdict.TOO_FEW, None, confirmed, len(judged), why)
    ordered = sorted(judged, key=lambda j: j.score)
    hits = confirmed
    for i, j in enumerate(ordered):
        if i and ordered[i - 1].score == j.score:
            hits -= j.confirmed
            continue
        kept = len(ordered) - i
        if kept < minimum:
            break
        if wilson_lower(hits, kept, confidence) >= target:
            # every judged flag passes: the evidence says nothing about moving the cut at all
            keep = i == 0 and current is not None
            threshold = current if keep and current is not None else max(j.score, current or 0.0)
            verdict = Verdict.KEEP if keep else Verdict.RAISE
            bound = wilson_lower(hits, kept, confidence)
            why = (
                f"{hits} of {kept} judged flags at or above {threshold:.2f} were confirmed "
                f"(at least {bound:.0%} at {confidence:.0%} confidence, target {target:.0%})"
            )
            return result(verdict, threshold, hits, kept, why)
        hits -= j.confirmed
    why = (
        f"no threshold keeps {minimum} judged flags with precision of at least {target:.0%} "
        f"at {confidence:.0%} confidence"
    )
    return result(Verdict.UNREACHABLE, None, confirmed, len(judged), why)


def curve(judged: Sequence[Judged], cuts: Sequence[float]) -> list[tuple[float, int, int]]:
    """(threshold, judged flags it keeps, of those confirmed) at each cut: the evidence behind a
    proposal, for a moderator to read."""
    return [
        (cut, sum(j.score >= cut for j in judged), sum(j.confirmed and j.score >= cut for j in judged)) for cut in cuts
    ]
