"""Evaluation metrics, including the unintended-bias AUCs of Borkan et al. (2019).

Pure functions over labels and scores, so the same code measures a public dataset and the live
decision log. AUCs are rank-based (Mann-Whitney) with ties counted half.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


def roc_auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Probability that a random positive scores above a random negative (nan if a class is empty)."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=float)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=float)
    sorted_scores = s[order]
    # average ranks over ties
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def pr_auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Average precision: the area under the precision-recall curve, step-wise."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=float)
    if y.sum() == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    hits = y[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


@dataclass(frozen=True, slots=True)
class Binary:
    precision: float
    recall: float
    f1: float
    false_positive_rate: float


def binary(labels: ArrayLike, predicted: ArrayLike) -> Binary:
    y = np.asarray(labels, dtype=bool)
    p = np.asarray(predicted, dtype=bool)
    tp, fp, fn, tn = int((y & p).sum()), int((~y & p).sum()), int((y & ~p).sum()), int((~y & ~p).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Binary(precision, recall, f1, fp / (fp + tn) if fp + tn else 0.0)


def macro_f1(labels: Sequence[str], predicted: Sequence[str]) -> float:
    classes = sorted(set(labels) | set(predicted))
    y = np.asarray(labels)
    p = np.asarray(predicted)
    return float(np.mean([binary(y == c, p == c).f1 for c in classes]))


@dataclass(frozen=True, slots=True)
class BiasAUCs:
    subgroup: str
    size: int
    subgroup_auc: float
    """AUC within posts mentioning the identity: can the model tell toxic from not, there?"""
    bpsn_auc: float
    """Background positive, subgroup negative: low means benign mentions score like abuse."""
    bnsp_auc: float
    """Background negative, subgroup positive: low means abuse of the group scores like benign text."""


def bias_aucs(labels: ArrayLike, scores: ArrayLike, in_subgroup: ArrayLike, subgroup: str) -> BiasAUCs:
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=float)
    g = np.asarray(in_subgroup, dtype=bool)
    bpsn = (~g & y) | (g & ~y)
    bnsp = (~g & ~y) | (g & y)
    return BiasAUCs(subgroup, int(g.sum()), roc_auc(y[g], s[g]), roc_auc(y[bpsn], s[bpsn]), roc_auc(y[bnsp], s[bnsp]))
