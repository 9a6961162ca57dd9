"""Flag thresholds from moderators' verdicts, the same for every surface (`modbot calibrate`, the
dashboard's calibration page): each community's proposals with their evidence, accepting one
(which raises that community's threshold in every process that decides, audit-logged) and
reverting it.

An accepted threshold is re-proposed from the verdicts at the moment of accepting, never taken
from the form or the command line: what is accepted is what the evidence says now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.store import Store
from moderation.calibration import Proposal, Verdict, curve, propose
from moderation.policy import Policy

CUTS = tuple(round(0.05 * i, 2) for i in range(1, 20))


@dataclass(frozen=True, slots=True)
class Asked:
    """What the community asks of its flags."""

    target: float = 0.8
    confidence: float = 0.95
    minimum: int = 30


@dataclass(frozen=True, slots=True)
class Proposed:
    platform: str
    community: str
    proposal: Proposal
    curve: list[tuple[float, int, int]]
    """(threshold, judged flags kept, confirmed among them) from the current threshold up"""


def proposals(store: Store, policy: Policy, since: datetime, asked: Asked) -> list[Proposed]:
    """Per community and category judged since `since`, against its threshold now (the config's,
    raised by what was accepted)."""
    accepted = store.threshold_overrides()
    out = []
    for (platform, community, category), judged in sorted(store.judged(since).items()):
        rules = policy.rules_for(community, "")
        if raised := accepted.get((platform, community)):
            rules = rules.raised(raised)
        current = rules.flag_threshold(category)
        p = propose(category, judged, current, asked.target, asked.confidence, asked.minimum)
        cuts = [c for c in CUTS if current is None or c >= current]
        out.append(Proposed(platform, community, p, curve(judged, cuts)))
    return out


def accept(
    store: Store,
    policy: Policy,
    where: tuple[str, str, str],
    since: datetime,
    asked: Asked,
    actor: str,
    origin: str,
) -> tuple[int, Proposal]:
    """Accept the proposal to raise (platform, community, category)'s flag threshold; ValueError
    when the verdicts propose no raise now."""
    platform, community, category = where
    found = next(
        (p for p in proposals(store, policy, since, asked) if (p.platform, p.community, p.proposal.category) == where),
        None,
    )
    if found is None:
        raise LookupError(f"no verdicts on {category} in {platform}/{community} since {since:%Y-%m-%d}")
    p = found.proposal
    if p.verdict is not Verdict.RAISE or p.threshold is None:
        raise ValueError(f"nothing to accept for {category} in {platform}/{community}: {p.verdict.value} ({p.why})")
    evidence = {
        "from": p.current,
        "confirmed": p.confirmed,
        "overturned": p.overturned,
        "precision_now": round(p.precision_now, 4),
        "precision_then": round(p.precision_then, 4),
        "lower_bound": round(p.lower_bound, 4),
        "target": asked.target,
        "confidence": asked.confidence,
        "why": p.why,
    }
    return store.accept_threshold(platform, community, category, p.threshold, evidence, actor, origin), p
