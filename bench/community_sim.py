"""A simulated lenient and a simulated strict community: do their verdicts teach the filter?

Posts arrive in the order of Davidson et al.'s tweets (../shared/datasets/davidson-hate-offensive,
three classes: hate speech, offensive language, neither; never trained on by the shipped models).
The default stack decides them. A simulated moderator closes the case of each flagged post:
- lenient: confirms flags of hate speech, overturns flags of mere offence and of the rest;
- strict: confirms flags of hate speech and of offence, overturns the rest.
After 500 verdicts (three moderators in turn), the community gets what modbot offers: thresholds
proposed by `modbot calibrate` (moderation/calibration.py) and a community model fitted on the
verdicts (`modbot learn`, model/community.py). The next 2,000 posts are decided before and after;
the figures are the override rate (flags the same moderator would overturn) and the recall of
the hateful posts (flagged at all).

    .venv/bin/python bench/community_sim.py --data ../shared/datasets
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Config
from bot.lab.evaluation.datasets import _csv
from bot.runtime import wiring
from bot.runtime.scorers import build_scorers
from model.community import Example, fit
from moderation.calibration import Judged, Verdict, propose
from moderation.community import Stage
from moderation.decider import Decider
from moderation.policy import Policy
from moderation.types import Author, Decision, Post

HATE, OFFENSIVE, NEITHER = 0, 1, 2
Moderator = Callable[[int], bool]
MODERATORS: dict[str, Moderator] = {"lenient": lambda cls: cls == HATE, "strict": lambda cls: cls != NEITHER}


def tweets(data: Path) -> list[tuple[str, int]]:
    return [(r["tweet"], int(r["class"])) for r in _csv(data / "davidson-hate-offensive" / "labeled_data.csv")]


def decided(decider: Decider, posts: Sequence[Post]) -> list[Decision]:
    out: list[Decision] = []
    for i in range(0, len(posts), 64):
        out += [d for d, _ in decider.decide(posts[i : i + 64], count=False)]
    return out


def verdicts(
    decider: Decider, posts: list[Post], classes: list[int], judge: Moderator, wanted: int
) -> tuple[list[Example], int]:
    """The first `wanted` flagged posts' verdicts and how many posts it took."""
    examples: list[Example] = []
    seen = 0
    while len(examples) < wanted and seen < len(posts):
        chunk = posts[seen : seen + 256]
        flagged = [(p, d) for p, d in zip(chunk, decided(decider, chunk), strict=True) if d.outcome.needs_review]
        read = decider.read([p for p, _ in flagged])
        for (post, decision), (scores, vector) in zip(flagged, read, strict=True):
            if len(examples) < wanted:
                category, moderator = decision.reasons[0].category, f"mod{len(examples) % 3}"
                examples.append(Example(scores, vector, category, judge(classes[int(post.id)]), moderator))
        seen += len(chunk)
    return examples, seen


def figures(ds: Sequence[Decision], classes: Sequence[int], judge: Moderator) -> tuple[float, float, int]:
    flagged = [c for d, c in zip(ds, classes, strict=True) if d.outcome.needs_review]
    hateful = sum(c == HATE for c in classes)
    override = sum(not judge(c) for c in flagged) / len(flagged) if flagged else 0.0
    recall = sum(c == HATE for c in flagged) / hateful if hateful else 0.0
    return override, recall, len(flagged)


def calibrated(policy: Policy, community: str, examples: Sequence[Example]) -> tuple[Policy, list[str]]:
    rules = policy.default
    thresholds = {c: dict(m) for c, m in rules.thresholds.items()}
    said = []
    for category in sorted({e.category for e in examples}):
        judged = [Judged(e.scores[category], e.confirmed) for e in examples if e.category == category]
        proposal = propose(category, judged, rules.flag_threshold(category))
        said.append(f"{category}: {proposal.verdict.value} {proposal.threshold or ''} ({proposal.why})")
        if proposal.verdict is Verdict.RAISE and proposal.threshold is not None:
            thresholds[category] = {o: max(t, proposal.threshold) for o, t in thresholds[category].items()}
    return replace(policy, communities={**policy.communities, community: replace(rules, thresholds=thresholds)}), said


def run(
    decider: Decider,
    rows: list[tuple[str, int]],
    name: str,
    judge: Moderator,
    wanted: int,
    after: int,
    keeps: list[float],
) -> None:
    now = datetime.now(UTC)
    posts = [Post("sim", name, "general", str(i), Author(f"u{i}"), t, now) for i, (t, _) in enumerate(rows)]
    classes = [c for _, c in rows]
    started = time.perf_counter()
    examples, used = verdicts(decider, posts, classes, judge, wanted)
    confirmed = sum(e.confirmed for e in examples)
    print(f"\n## {name}: {len(examples)} verdicts ({confirmed} confirmed) from the first {used} posts")
    test = slice(used, used + after)
    nxt, cls = posts[test], classes[test]
    base_policy = decider.policy
    rows_out = [("before", figures(decided(decider, nxt), cls, judge))]
    decider.policy, said = calibrated(base_policy, name, examples)
    for line in said:
        print(f"- calibration, {line}")
    rows_out.append(("calibrated thresholds", figures(decided(decider, nxt), cls, judge)))
    for keep in keeps:
        model = replace(fit("sim", name, examples, keep=keep), stage=Stage.LIVE)
        for category, a in sorted(model.adjustments.items()):
            print(f"- model keeping {keep:.0%}, {category}: {a.confirmed} of {a.verdicts} confirmed, cut {a.cut:.2f}")
        decider.communities[("sim", name)] = model
        rows_out.append((f"calibrated + community model (keep {keep:.0%})", figures(decided(decider, nxt), cls, judge)))
        decider.policy = base_policy
        rows_out.append((f"community model (keep {keep:.0%})", figures(decided(decider, nxt), cls, judge)))
        decider.communities[("sim", name)] = replace(model, held=frozenset())
        unheld = figures(decided(decider, nxt), cls, judge)
        rows_out.append((f"community model (keep {keep:.0%}), hate and threat not held (an admin's choice)", unheld))
        decider.policy, _ = calibrated(base_policy, name, examples)
    decider.policy = base_policy
    del decider.communities[("sim", name)]
    print(f"\nnext {len(nxt)} posts ({sum(c == HATE for c in cls)} hateful):\n")
    print("| | flagged | override rate | hateful recall |\n|---|---|---|---|")
    for label, (override, recall, flagged) in rows_out:
        print(f"| {label} | {flagged} | {override:.3f} | {recall:.3f} |")
    print(f"\n({time.perf_counter() - started:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--verdicts", type=int, default=500)
    parser.add_argument("--after", type=int, default=2000)
    parser.add_argument("--keep", type=float, nargs="+", default=[0.98, 0.9], help="model/community.fit's keep")
    args = parser.parse_args()
    config = Config()
    scorers, embedder = build_scorers(config.scorers)
    decider = wiring.decider_from(config, scorers, embedder)
    rows = tweets(args.data)
    for name, judge in MODERATORS.items():
        run(decider, rows, name, judge, args.verdicts, args.after, args.keep)


if __name__ == "__main__":
    main()
