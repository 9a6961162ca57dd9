"""How well can anything learnt from labels tell Davidson et al.'s hate speech from its offensive
language? The ceiling behind bench/community_sim.py's lenient community: its goal (override rate
halved, hateful recall within 2 points) needs about 97 % of the hateful flags kept while about
95 % of the others are cleared.

A character 2-5-gram and word 1-2-gram TF-IDF logistic regression (balanced), cross-validated in 5
folds over every hate and offensive tweet of the set: each fold trains on about 16,500 labelled
tweets, 33 times the 500 verdicts a community gives in the simulation. Prints the ROC-AUC and the
operating points: the false-positive rate (offensive kept) at 90/95/97 % of hate kept, and the
hate kept at the goal's 4.8 % false-positive rate.

Usage: .venv/bin/python bench/davidson_ceiling.py [--data ../shared/datasets]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.lab.evaluation.datasets import davidson  # noqa: E402

GOAL_FPR = 0.048
"""bench/community_sim.py's next 2,000 posts: 1,399 flagged, 74 of them hateful, override rate
0.935. Halved (0.4675) with recall within 2 points (72 hateful kept), at most 135 flags stay, 63
of them not hateful: 63 of the 1,325 such flags kept"""


def main() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score, roc_curve
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline, make_union

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "datasets")
    args = parser.parse_args()
    tweets, classes = davidson(args.data)
    kept = [(t, c) for t, c in zip(tweets, classes, strict=True) if c in (0, 1)]  # hate, offensive
    texts = [t for t, _ in kept]
    hate = np.asarray([int(c == 0) for _, c in kept])
    model = make_pipeline(  # the vocabulary and weights learnt inside each fold, from its training part
        make_union(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True),
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        ),
        LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000),
    )
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    p = cross_val_predict(model, texts, hate, cv=folds, method="predict_proba")[:, 1]
    fpr, tpr, _ = roc_curve(hate, p)
    print(f"{len(texts)} tweets ({int(hate.sum())} hate); 5-fold ROC-AUC {roc_auc_score(hate, p):.3f}")
    for target in (0.90, 0.95, 0.97):
        print(f"hate kept {target:.0%}: offensive kept {fpr[np.searchsorted(tpr, target)]:.3f}")
    # the first point of the curve at or past the goal's rate: if anything, kind to the model
    print(f"offensive kept {GOAL_FPR}: hate kept {tpr[np.searchsorted(fpr, GOAL_FPR)]:.3f}")


if __name__ == "__main__":
    main()
