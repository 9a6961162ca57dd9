"""`modbot eval`: score public datasets through the same Decider the service uses, and write a
report (markdown, JSON, PNG plots) with the figures and how they were produced."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.lab.evaluation import datasets
from moderation.decider import Decider
from moderation.metrics import bias_aucs, binary, macro_f1, pr_auc, roc_auc
from moderation.types import ABUSE, Author, Decision, Post

ABUSE_CATEGORIES = tuple(c for c in ABUSE if c != "profanity")
"""what "the highest abuse score" means: profanity alone is evidence, not abuse"""
_BATCH = 256


def decide_texts(decider: Decider, texts: Sequence[str]) -> list[Decision]:
    """Each text decided as a post by an unknown author, in batches."""
    out: list[Decision] = []
    now = datetime.now(UTC)
    for start in range(0, len(texts), _BATCH):
        posts = [
            Post("eval", "eval", "eval", str(i), Author("eval", anonymous=True), t, now, time_known=False)
            for i, t in enumerate(texts[start : start + _BATCH], start)
        ]
        out += [decision for decision, _ in decider.decide(posts)]
    return out


def scorer_for(decider: Decider, category: str | None) -> Callable[[Sequence[str]], list[float]]:
    """texts -> one score each: `category`, or the highest abuse category the scorers produce."""

    def score(texts: Sequence[str]) -> list[float]:
        return [
            float(d.scores.get(category, 0.0))
            if category is not None
            else max((v for c, v in d.scores.items() if c in ABUSE_CATEGORIES), default=0.0)
            for d in decide_texts(decider, texts)
        ]

    return score


@dataclass
class Report:
    name: str
    command: str
    scorers: dict[str, str]
    figures: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    seconds: float = 0.0

    def write(self, out: Path, plots: dict[str, Callable[[Path], None]]) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        written = [out / f"{self.name}.json", out / f"{self.name}.md"]
        written[0].write_text(json.dumps(asdict(self), indent=2, default=_jsonable) + "\n", encoding="utf-8")
        written[1].write_text(self.markdown(list(plots)), encoding="utf-8")
        for filename, draw in plots.items():
            draw(out / filename)
            written.append(out / filename)
        return written

    def markdown(self, images: list[str]) -> str:
        lines = [
            f"# {self.name}",
            "",
            f"Produced by `{self.command}` in {self.seconds:.0f} s.",
            "",
            "Scorers: " + ", ".join(f"{k} {v}" for k, v in self.scorers.items()),
            "",
            "| figure | value |",
            "|---|---|",
        ]
        lines += [f"| {k} | {fmt(v)} |" for k, v in self.figures.items()]
        for title, rows in self.tables.items():
            if not rows:
                continue
            lines += ["", f"## {title}", "", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
            lines += ["| " + " | ".join(fmt(v) for v in row.values()) + " |" for row in rows]
        lines += [""] + [f"![{name}]({name})" for name in images]
        return "\n".join(lines) + "\n"


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def _jsonable(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else str(value)


def bias(
    data: Path, score: Callable[[Sequence[str]], list[float]], scorers: dict[str, str], command: str
) -> tuple[Report, dict[str, Callable[[Path], None]]]:
    """Madlibs: overall AUC and, per identity term, subgroup / BPSN / BNSP AUC; and the
    fuzzed-vs-original gap on the Wikipedia comments."""
    started = time.perf_counter()
    m = datasets.madlibs(data)
    scores = score(m.texts)
    rows: list[dict[str, Any]] = []
    for identity in m.identities:
        member = m.mentions(identity)
        if sum(member) < 10:
            continue
        r = bias_aucs(m.labels, scores, member, identity)
        rows.append(
            {
                "identity": identity,
                "n": r.size,
                "subgroup_auc": r.subgroup_auc,
                "bpsn_auc": r.bpsn_auc,
                "bnsp_auc": r.bnsp_auc,
            }
        )
    fuzzed, original = datasets.wikipedia_fuzzed(data, True), datasets.wikipedia_fuzzed(data, False)
    auc_fuzzed = roc_auc(fuzzed.labels, score(fuzzed.texts))
    auc_original = roc_auc(original.labels, score(original.texts))
    report = Report("bias", command, scorers)
    report.figures = {
        "madlibs posts": len(m.texts),
        "madlibs overall ROC-AUC": roc_auc(m.labels, scores),
        "worst subgroup AUC": min(r["subgroup_auc"] for r in rows),
        "worst BPSN AUC": min(r["bpsn_auc"] for r in rows),
        "worst BNSP AUC": min(r["bnsp_auc"] for r in rows),
        "identities with every AUC >= 0.90": sum(
            min(r["subgroup_auc"], r["bpsn_auc"], r["bnsp_auc"]) >= 0.9 for r in rows
        ),
        "identities measured": len(rows),
        "Wikipedia original ROC-AUC": auc_original,
        "Wikipedia identity-fuzzed ROC-AUC": auc_fuzzed,
        "fuzzed minus original": auc_fuzzed - auc_original,
    }
    report.tables["per identity (sorted by BPSN AUC)"] = sorted(rows, key=lambda r: r["bpsn_auc"])
    report.seconds = time.perf_counter() - started
    return report, {
        "identity_aucs.png": lambda p: _identity_plot(rows, p),
        "madlibs_roc.png": lambda p: _roc_plot([("madlibs", m.labels, scores)], p),
    }


def toxicity(
    data: Path, score: Callable[[Sequence[str]], list[float]], scorers: dict[str, str], command: str, threshold: float
) -> tuple[Report, dict[str, Callable[[Path], None]]]:
    """OLID level A macro-F1 at `threshold` (and ROC-AUC); Davidson hate and hate-or-offensive."""
    started = time.perf_counter()
    olid = datasets.olid_test(data)
    olid_scores = score(olid.texts)
    predicted = ["OFF" if s >= threshold else "NOT" for s in olid_scores]
    truth = ["OFF" if y else "NOT" for y in olid.labels]
    tweets, classes = datasets.davidson(data)
    dav_scores = score(tweets)
    hate = [int(c == 0) for c in classes]
    abusive = [int(c in (0, 1)) for c in classes]
    report = Report("toxicity", command, scorers)
    report.figures = {
        "threshold": threshold,
        "OLID level A test posts": len(olid.texts),
        "OLID level A macro-F1": macro_f1(truth, predicted),
        "OLID level A ROC-AUC": roc_auc(olid.labels, olid_scores),
        "OLID OFF-class F1": binary(olid.labels, [p == "OFF" for p in predicted]).f1,
        "Davidson tweets": len(tweets),
        "Davidson hate-or-offensive ROC-AUC": roc_auc(abusive, dav_scores),
        "Davidson hate-or-offensive PR-AUC": pr_auc(abusive, dav_scores),
        "Davidson hate ROC-AUC": roc_auc(hate, dav_scores),
        "Davidson hate PR-AUC": pr_auc(hate, dav_scores),
    }
    report.tables["OLID at thresholds"] = [
        {"threshold": t, "macro_f1": macro_f1(truth, ["OFF" if s >= t else "NOT" for s in olid_scores])}
        for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    ]
    report.seconds = time.perf_counter() - started
    curves = [
        ("OLID A", olid.labels, olid_scores),
        ("Davidson hate-or-offensive", abusive, dav_scores),
        ("Davidson hate", hate, dav_scores),
    ]
    return report, {"toxicity_roc.png": lambda p: _roc_plot(curves, p)}


def _roc_plot(curves: list[tuple[str, list[int], list[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(5, 5))
    for name, labels, scores in curves:
        y = np.asarray(labels, dtype=bool)
        s = np.asarray(scores)
        thresholds = np.unique(s)[::-1]
        tpr = [((s >= t) & y).sum() / max(y.sum(), 1) for t in thresholds]
        fpr = [((s >= t) & ~y).sum() / max((~y).sum(), 1) for t in thresholds]
        ax.plot([0, *fpr, 1], [0, *tpr, 1], label=f"{name} (AUC {roc_auc(labels, scores):.3f})")
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _identity_plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: r["identity"])
    fig, ax = plt.subplots(figsize=(12, 4))
    x = range(len(rows))
    for offset, key in ((-0.27, "subgroup_auc"), (0.0, "bpsn_auc"), (0.27, "bnsp_auc")):
        ax.bar([i + offset for i in x], [r[key] for r in rows], width=0.27, label=key.replace("_", " "))
    ax.axhline(0.9, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(list(x), [r["identity"] for r in rows], rotation=70, fontsize=7)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def injection(data: Path, command: str) -> tuple[Report, dict[str, Callable[[Path], None]]]:
    """The reply assistant's injection rules: recall on BIPIA's injected instructions (per attack
    category), false-positive rate on NotInject (benign prompts full of trigger words) and WildGuard."""
    from moderation.injection import detect

    started = time.perf_counter()
    sets = datasets.injection(data)
    caught: dict[str, list[bool]] = {}
    for category, text_ in sets.attacks:
        caught.setdefault(category, []).append(bool(detect(text_)))
    flagged = {name: [t for t in texts if detect(t)] for name, texts in sets.benign.items()}
    report = Report("injection", command, {"injection": "moderation.injection rules"})
    hits = [c for cs in caught.values() for c in cs]
    report.figures = {"BIPIA recall": sum(hits) / len(hits), "BIPIA injected instructions": len(hits)}
    for name, texts in sets.benign.items():
        report.figures[f"{name} false-positive rate"] = len(flagged[name]) / len(texts)
        report.figures[f"{name} prompts"] = len(texts)
    report.tables["BIPIA recall per attack category"] = [
        {"category": c, "caught": sum(v), "of": len(v), "recall": sum(v) / len(v)} for c, v in caught.items()
    ]
    from bot.lab import injection_training
    from model.injection_text import InjectionTextModel

    model = InjectionTextModel.load()
    report.scorers["injection-text"] = model.version
    rows = injection_training.figures(injection_training.parts(data), lambda texts: model.predict(texts))
    report.tables["held-out splits: rules, the injection-text model, either"] = rows
    report.tables["benign prompts flagged"] = [
        {"set": name, "prompt": t[:160].replace("|", "/").replace("\n", " ")}
        for name, ts in flagged.items()
        for t in ts
    ]
    report.seconds = time.perf_counter() - started
    return report, {}


def spam(data: Path, command: str, seed: int = 13) -> tuple[Report, dict[str, Callable[[Path], None]]]:
    """The spam-text recipe refitted and measured where no model it reports on has looked:
    comment spam from held-out template frames (unseen phrasings and filler values) against the
    official OLID and CAD test posts at the shipped flag threshold; and the SMS Spam Collection,
    5-fold cross-validated through the full recipe. Also whether the shipped model is the one the
    recipe fits."""
    from bot.lab.spam_training import FLAG, FOLDS, RECIPE, THRESHOLDS, WEIGHTS, C, evaluate
    from model.spamtext import SpamTextModel

    started = time.perf_counter()
    run = evaluate(data, seed)
    held, cv = run.held, run.cv
    shipped_model = SpamTextModel.load()
    shipped = shipped_model.version
    weights = ", ".join(f"{k} {v:g}" for k, v in WEIGHTS.items())
    report = Report(
        "spam",
        command,
        {"spam-text": f"{RECIPE} (C {C:g}; weights {weights}), seed {seed}, refitted as {run.model.version}"},
    )
    report.figures = {
        "held-out comment spam texts": len(held.spam),
        "held-out frames": len({(g.family, g.frame) for g in held.spam}),
        **{f"{name} (ham) texts": len(texts) for name, texts in held.ham.items()},
        **{f"comment spam {k}": v for k, v in held.figures(FLAG).items()},
        **{f"SMS {FOLDS}-fold {k}": v for k, v in cv.figures().items() if k != "threshold"},
        **{f"SMS {FOLDS}-fold {k} at {FLAG}": v for k, v in cv.at(FLAG).items() if k != "threshold"},
        "training texts": len(run.corpus.texts),
        "shipped model": shipped,
        "shipped model is the recipe's": shipped_model.fits_like(run.model),
    }
    report.tables["held-out comment spam at thresholds (ham: OLID and CAD test posts)"] = [
        held.at(t) for t in THRESHOLDS
    ]
    report.tables[f"held-out recall per family at {FLAG}"] = held.per_family(FLAG)
    report.tables["SMS cross-validated at thresholds"] = [cv.at(t) for t in THRESHOLDS]
    report.tables["training texts per source"] = [
        *({"source": k, "texts": v} for k, v in run.corpus.counts().items()),
        {"source": "dropped: the same as a held-out text", "texts": run.corpus.held_out_overlap},
    ]
    report.tables[f"test posts flagged and held-out spam missed at {FLAG}"] = held.errors(FLAG)
    labels, scores = held.labelled()
    report.seconds = time.perf_counter() - started
    curves = [("SMS spam (out of fold)", cv.labels, cv.scores), ("comment spam vs OLID+CAD test", labels, scores)]
    return report, {"spam_roc.png": lambda p: _roc_plot(curves, p)}
