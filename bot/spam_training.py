"""`modbot train spam` and `modbot eval spam`: the recipe behind the shipped spam-text model.

Data: the UCI SMS Spam Collection, deduplicated. The figures are 5-fold cross-validated (each
text scored by a model that never saw it), folds stratified and drawn from the seed; the shipped
model is then fitted on every text. Texts go through the same normaliser as live posts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.evaluation import datasets
from bot.training import saved
from model.spamtext import SpamTextModel, fit
from moderation.metrics import binary, pr_auc, roc_auc
from moderation.normalise import normalise

RECIPE = "spam-text-recipe-1"
FOLDS = 5


@dataclass
class CrossValidation:
    labels: list[int]
    scores: list[float]
    """out-of-fold spam probability for every text"""

    def at(self, threshold: float) -> dict[str, float]:
        b = binary(self.labels, [s >= threshold for s in self.scores])
        return {
            "threshold": threshold,
            "spam precision": b.precision,
            "spam recall": b.recall,
            "spam F1": b.f1,
            "ham false-positive rate": b.false_positive_rate,
        }

    def figures(self) -> dict[str, float]:
        return {
            **self.at(0.5),
            "ROC-AUC": roc_auc(self.labels, self.scores),
            "PR-AUC": pr_auc(self.labels, self.scores),
        }


def _texts(data: Path) -> tuple[list[str], list[int]]:
    sms = datasets.sms_spam(data)
    return [normalise(t).text for t in sms.texts], sms.labels


def cross_validate(data: Path, seed: int = 13) -> CrossValidation:
    texts, labels = _texts(data)
    rng = np.random.default_rng(seed)
    fold = np.empty(len(texts), dtype=int)
    y = np.asarray(labels)
    for cls in (0, 1):
        members = rng.permutation(np.flatnonzero(y == cls))
        fold[members] = np.arange(len(members)) % FOLDS
    scores = np.zeros(len(texts), dtype=np.float32)
    for k in range(FOLDS):
        train_idx, test_idx = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        model = fit([texts[i] for i in train_idx], y[train_idx].tolist())
        scores[test_idx] = model.predict([texts[i] for i in test_idx])
    return CrossValidation(labels, scores.tolist())


def train(data: Path, out: Path, seed: int = 13) -> tuple[SpamTextModel, dict[str, Any]]:
    started = time.perf_counter()
    cv = cross_validate(data, seed)
    texts, labels = _texts(data)
    model = fit(texts, labels)
    metrics = {f"cross-validated {k}": round(v, 4) for k, v in cv.figures().items() if k != "threshold"}
    model.meta = {
        "name": "spam-text",
        "recipe": RECIPE,
        "seed": seed,
        "data": "UCI SMS Spam Collection v.1, deduplicated",
        "texts": {"ham": labels.count(0), "spam": labels.count(1)},
        "metrics": metrics,
    }
    model.save(out)
    return model, {**metrics, **saved(out, len(texts), model.version, started)}
