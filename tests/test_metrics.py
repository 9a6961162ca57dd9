from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from moderation.metrics import bias_aucs, binary, macro_f1, pr_auc, roc_auc


def test_aucs_agree_with_scikit_learn_including_ties() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.random(500) + y * 0.3, 1)  # rounding makes many ties
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    s2 = rng.random(500) + y * 0.5
    assert pr_auc(y, s2) == pytest.approx(average_precision_score(y, s2))
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))


def test_binary_and_macro_f1() -> None:
    y = [1, 1, 0, 0, 1]
    p = [1, 0, 0, 1, 1]
    b = binary(y, p)
    assert b.f1 == pytest.approx(f1_score(y, p)) and b.false_positive_rate == 0.5
    labels = ["OFF", "NOT", "NOT", "OFF", "NOT"]
    predicted = ["OFF", "OFF", "NOT", "NOT", "NOT"]
    assert macro_f1(labels, predicted) == pytest.approx(f1_score(labels, predicted, average="macro"))


def test_bias_aucs_expose_identity_over_triggering() -> None:
    # A model that scores any mention of the group high: abusive background vs benign mentions confused.
    labels = [1, 1, 0, 0, 1, 0]
    group = [0, 0, 0, 0, 1, 1]
    scores = [0.9, 0.8, 0.1, 0.2, 0.95, 0.9]
    result = bias_aucs(labels, scores, group, "group")
    assert result.size == 2 and result.subgroup_auc == 1.0
    assert result.bpsn_auc < 0.5  # benign mentions outscore background abuse
    assert result.bnsp_auc == 1.0
