"""`modbot train native`: one model per language from that language's labelled abuse data, each
measured on its set's own test split next to the best figure published for it.

Texts pass through the same normaliser the Decider applies before scoring, so the model learns
what it will see. Sets whose licence is non-commercial train only when asked (--noncommercial)
and never into the artifact shipped in the package.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.lab.evaluation.language_sets import SETS, LanguageSet, Split
from bot.lab.training import saved
from model import native
from model.native import NativeHeads, NativeModels
from moderation.normalise import normalise

C = 4.0
MIN_DF = 2
THRESHOLD = 0.5
"""balanced classes put the decision at 0.5, which is also where the default policy flags"""
RECIPE = f"char_wb 2-5-gram hashed TF-IDF (min df {MIN_DF}), one balanced logistic regression per category (C={C})"


@dataclass(frozen=True, slots=True)
class Measured:
    language: str
    macro_f1: float
    extra: dict[str, float]

    def figures(self, chosen: LanguageSet) -> dict[str, Any]:
        gap = None if chosen.published is None else round(chosen.published - self.macro_f1, 4)
        return {
            "macro-F1": round(self.macro_f1, 4),
            **{k: round(v, 4) for k, v in self.extra.items()},
            "published": chosen.published,
            "published by": chosen.published_by,
            "gap": gap,
        }


def chosen_sets(languages: Sequence[str] | None, noncommercial: bool) -> list[LanguageSet]:
    """The sets to train on: the named languages, or the shipped ones."""
    known = {s.language for s in SETS}
    unknown = sorted(set(languages or ()) - known)
    if unknown:
        raise ValueError(f"no labelled data for {', '.join(unknown)}: modbot has {', '.join(sorted(known))}")
    if languages is None:  # the shipped recipe, plus the non-commercial sets when asked
        return [s for s in SETS if s.ships or (noncommercial and not s.commercial)]
    picked = [s for s in SETS if s.language in languages]
    refused = [s for s in picked if not s.commercial and not noncommercial]
    if refused:
        names = ", ".join(f"{s.language} ({s.name}, {s.licence})" for s in refused)
        raise ValueError(f"non-commercial licence: {names}; pass --noncommercial (and --out) to train on it")
    return picked


def _macro_f1(truth: Sequence[int], predicted: Any) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(list(truth), np.asarray(predicted, dtype=int), average="macro"))


def measure(heads: NativeHeads, chosen: LanguageSet, test: Split) -> Measured:
    probs = heads.predict(test.texts)
    first = chosen.categories[0]
    flagged = probs[:, 0] >= THRESHOLD
    negatives = np.asarray(test.labels[first]) == 0
    extra: dict[str, float] = {"false-flag rate": float(flagged[negatives].mean()) if negatives.any() else 0.0}
    for k, category in enumerate(heads.categories[1:], start=1):
        extra[f"{category} macro-F1"] = _macro_f1(test.labels[category], probs[:, k] >= THRESHOLD)
    return Measured(chosen.language, _macro_f1(test.labels[first], flagged), extra)


def train_one(chosen: LanguageSet, data: Path) -> tuple[NativeHeads, Measured, int]:
    train, test = chosen.load(data / chosen.folder)
    texts = [normalise(t).text for t in train.texts]
    labels = {c: train.labels[c] for c in chosen.categories}
    heads = native.fit(chosen.language, texts, labels, chosen.name, C, MIN_DF)
    normalised = Split([normalise(t).text for t in test.texts], test.labels)
    return heads, measure(heads, chosen, normalised), len(texts)


def train(
    data: Path, out: Path, languages: Sequence[str] | None = None, noncommercial: bool = False
) -> tuple[NativeModels, dict[str, Any]]:
    started = time.perf_counter()
    shipped = out.resolve() == (Path(native.__file__).parent / "artifacts" / native.SHIPPED).resolve()
    if noncommercial and shipped:
        raise ValueError("non-commercial data never goes into the shipped artifact: give --out")
    by_language: dict[str, NativeHeads] = {}
    per_language: dict[str, Any] = {}
    for chosen in chosen_sets(languages, noncommercial):
        heads, measured, size = train_one(chosen, data)
        by_language[chosen.language] = heads
        per_language[chosen.language] = {
            "data": f"{chosen.name} ({chosen.licence})",
            "categories": list(chosen.categories),
            "train texts": size,
            **measured.figures(chosen),
        }
    models = NativeModels(by_language, {"name": "native", "recipe": RECIPE, "per language": per_language})
    models.save(out)
    summary = {code: _line(row) for code, row in per_language.items()}
    return models, {
        **summary,
        **saved(out, sum(r["train texts"] for r in per_language.values()), models.version, started),
    }


def _line(row: dict[str, Any]) -> str:
    published = "" if row["published"] is None else f" (published {row['published']}, gap {row['gap']})"
    extra = "".join(f"; {k} {v}" for k, v in row.items() if ("F1" in k or "rate" in k) and k != "macro-F1")
    return f"{row['data']}: {', '.join(row['categories'])}; macro-F1 {row['macro-F1']}{published}{extra}"
