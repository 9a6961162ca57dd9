"""`modbot eval languages`: every other-language set's own test split through the whole filter, as
a community writing that language meets it: language identification routes each post (to its
language's own model, to the English scorers where unsure, or to "not scored"), the scorers score
it and the policy decides. A post counts as flagged when an abuse category puts it in front of a
moderator; the unscored-language policy's own flags do not count (they are not a verdict).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.lab.evaluation.language_sets import SETS, LanguageSet
from bot.lab.evaluation.runner import Report, decide_texts
from moderation.decider import Decider
from moderation.metrics import macro_f1
from moderation.types import ABUSE, Decision


def _flagged(decision: Decision) -> bool:
    return any(r.outcome.needs_review and r.category in ABUSE for r in decision.reasons)


def _row(chosen: LanguageSet, decider: Decider, truth: list[int], decisions: list[Decision]) -> dict[str, Any]:
    native = {s.name for s in decider.native}
    english = {s.name for s in decider.scorers}
    n = len(decisions)
    flagged = [_flagged(d) for d in decisions]
    positives = sum(truth)
    figure = macro_f1([str(y) for y in truth], [str(int(f)) for f in flagged])
    return {
        "set": chosen.name,
        "language": chosen.language,
        "posts": n,
        "own model": sum(bool(native & set(d.scores_by_scorer)) for d in decisions) / n,
        "English scorers": sum(bool(english & set(d.scores_by_scorer)) for d in decisions) / n,
        "not scored": sum(d.reasons[0].message.startswith("not scored") for d in decisions if d.reasons) / n,
        "macro-F1": figure,
        "recall": sum(f for f, y in zip(flagged, truth, strict=True) if y) / max(1, positives),
        "others flagged": sum(f for f, y in zip(flagged, truth, strict=True) if not y) / max(1, n - positives),
        "published": chosen.published if chosen.published is not None else float("nan"),
        "gap": chosen.published - figure if chosen.published is not None else float("nan"),
    }


def per_language(data: Path, decider: Decider, command: str) -> tuple[Report, dict[str, Callable[[Path], None]]]:
    started = time.perf_counter()
    report = Report("languages", command, dict(decider.versions))
    rows = []
    for chosen in SETS:
        _, test = chosen.load(data / chosen.folder)
        rows.append(_row(chosen, decider, test.labels[chosen.categories[0]], decide_texts(decider, test.texts)))
    report.tables["per set"] = rows
    for row in rows:
        report.figures[f"{row['language']} {row['set']} macro-F1"] = row["macro-F1"]
    report.seconds = time.perf_counter() - started
    return report, {}
