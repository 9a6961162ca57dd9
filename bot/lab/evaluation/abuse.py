"""`modbot eval abuse`: every abuse set's own test split through the whole filter, per category.

Measured as a moderator meets it: the configured scorers and the default policy decide each test
post, so the figures include thresholds, review caps and every scorer's contribution, not only
one model's ranking. Per set and category: ROC-AUC of the category's score, macro-F1 at the
policy's lowest threshold for it, and, where the set has hateful and other posts, the share of
the other posts the policy puts in front of a moderator next to the recall of the hateful ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.lab.evaluation import corpora
from bot.lab.evaluation.runner import Report, decide_texts
from moderation.decider import Decider
from moderation.metrics import macro_f1, roc_auc
from moderation.types import ABUSE, Decision, Outcome


def _lowest(decider: Decider, category: str) -> float | None:
    thresholds = decider.policy.default.thresholds.get(category)
    return min(thresholds.values()) if thresholds else None


def _rows(
    decider: Decider, source: str, examples: list[corpora.Example], decisions: list[Decision]
) -> list[dict[str, Any]]:
    rows = []
    for category in ABUSE:
        known = [(e.labels[category], d) for e, d in zip(examples, decisions, strict=True) if category in e.labels]
        truth = [y for y, _ in known]
        if len(set(truth)) < 2 or not any(category in d.scores for _, d in known):
            continue  # one class only, or no configured scorer scores the category
        scores = [float(d.scores.get(category, 0.0)) for _, d in known]
        threshold = _lowest(decider, category)
        row: dict[str, Any] = {"set": source, "category": category, "posts": len(known), "positives": sum(truth)}
        row["ROC-AUC"] = roc_auc(truth, scores)
        row["threshold"] = threshold if threshold is not None else float("nan")
        row["macro-F1"] = (
            macro_f1([str(y) for y in truth], [str(int(s >= threshold)) for s in scores])
            if threshold is not None
            else float("nan")
        )
        row["accuracy"] = (
            sum(int(s >= threshold) == y for s, y in zip(scores, truth, strict=True)) / len(truth)
            if threshold is not None
            else float("nan")
        )
        flagged = [d.outcome.needs_review for _, d in known]
        row["recall (flagged)"] = sum(f for f, y in zip(flagged, truth, strict=True) if y) / max(1, sum(truth))
        row["others flagged"] = sum(f for f, y in zip(flagged, truth, strict=True) if not y) / max(
            1, len(truth) - sum(truth)
        )
        row["others removed"] = sum(d.outcome.severity >= Outcome.HIDE.severity for (y, d) in known if not y) / max(
            1, len(truth) - sum(truth)
        )
        rows.append(row)
    return rows


OFFENSIVE_AT = 0.5
"""OLID's level A asks whether a tweet is offensive at all (an insult, a threat, hate or plain
swearing): the highest of those scores at this fixed cut, not a threshold chosen on the test."""


def _offensive(examples: list[corpora.Example], decisions: list[Decision]) -> dict[str, float]:
    truth = [e.labels["toxicity"] for e in examples]
    scores = [max((float(d.scores.get(c, 0.0)) for c in ABUSE), default=0.0) for d in decisions]
    predicted = [str(int(s >= OFFENSIVE_AT)) for s in scores]
    return {
        f"OLID level A macro-F1 (highest abuse score >= {OFFENSIVE_AT})": macro_f1([str(y) for y in truth], predicted),
        "OLID level A ROC-AUC (highest abuse score)": roc_auc(truth, scores),
    }


def per_set(data: Path, decider: Decider, command: str) -> tuple[Report, dict[str, Callable[[Path], None]]]:
    started = time.perf_counter()
    report = Report("abuse", command, decider.versions)
    rows: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    for source in corpora.SOURCES:
        examples = [e for e in corpora.load(data, source) if e.split is corpora.Split.TEST]
        decisions = decide_texts(decider, [e.text for e in examples])
        rows += _rows(decider, source, examples, decisions)
        if source == "olid-offenseval2019":
            report.figures |= _offensive(examples, decisions)
        for group in sorted({e.group for e in examples} - {""}):
            mine = [d for e, d in zip(examples, decisions, strict=True) if e.group == group]
            groups.append(
                {
                    "set": source,
                    "group": group,
                    "posts": len(mine),
                    "flagged": sum(d.outcome.needs_review for d in mine) / len(mine),
                    "removed": sum(d.outcome.severity >= Outcome.HIDE.severity for d in mine) / len(mine),
                }
            )
    report.tables["per set and category (test splits)"] = rows
    report.tables["slices"] = groups
    for row in rows:
        if row["category"] == "hate" and row["set"] in ("gab-hate-corpus", "stormfront-white-supremacy", "dynahate"):
            name = row["set"].split("-")[0]
            report.figures[f"{name}: hateful flagged (recall)"] = row["recall (flagged)"]
            report.figures[f"{name}: non-hateful flagged"] = row["others flagged"]
            report.figures[f"{name}: hate accuracy at its threshold"] = row["accuracy"]
    report.seconds = time.perf_counter() - started
    return report, {}


FUNCTIONAL_FLOORS = {"overall": 0.90, "hate": 0.75, "harassment": 0.75}
"""What the functional suite must hold: the overall pass rate, and the lowest pass rate any
functionality of hate and of harassment may have (CI holds them for the shipped stack; a
community model is not promoted below them)."""


def functional(decider: Decider, command: str) -> tuple[Report, dict[str, Callable[[Path], None]]]:
    """modbot's own templated functional suite (moderation/functional.py) through the filter: a
    case passes when its category reaches the policy's lowest threshold for it exactly when the
    case expects that; counter-speech and identity talk must also never be removed."""
    from moderation.functional import cases
    from moderation.functional_report import report as summarise

    started = time.perf_counter()
    suite = cases()
    decisions = decide_texts(decider, [c.text for c in suite])
    flagged = []
    for case, decision in zip(suite, decisions, strict=True):
        threshold = _lowest(decider, case.category)
        flagged.append(threshold is not None and decision.scores.get(case.category, 0.0) >= threshold)
    removed = [d.outcome.severity >= Outcome.HIDE.severity for d in decisions]
    summary = summarise(suite, flagged, removed)
    report = Report("functional", command, decider.versions)
    report.figures = {"cases": len(suite), "pass rate": summary.overall.rate}
    report.figures |= {f"pass rate {c}": t.rate for c, t in summary.by_category.items()}
    report.figures["lowest functionality pass rate"] = min(t.rate for t in summary.by_functionality.values())
    report.figures["never-remove cases removed"] = summary.never_remove_removed
    report.tables["per functionality"] = [
        {"functionality": k, "expects": summary.expects[k].value, "cases": t.total, "pass rate": t.rate}
        for k, t in summary.by_functionality.items()
    ]
    report.tables["per identity"] = [
        {"identity": k, "cases": t.total, "pass rate": t.rate} for k, t in summary.by_identity.items()
    ]
    report.tables["failures (first 60)"] = [
        {"functionality": suite[i].functionality, "text": suite[i].text} for i in summary.failures[:60]
    ]
    report.seconds = time.perf_counter() - started
    return report, {}
