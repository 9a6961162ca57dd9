"""The lexical classifier behind the spam-text and injection-text models: character n-grams (2-5,
inside word boundaries) hashed into 2^20 buckets, TF-IDF weighted, then a logistic regression.
Words, not meaning: spam and prompt injection are registers ("txt WIN to 87121", "ignore all
previous instructions") that a semantic embedding smooths away, and the weights can name the
words that weighed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

import numpy as np
from numpy.typing import NDArray

from model.ngrams import HashedTfidf, load_arrays, read_meta, save_arrays
from moderation.scoring import ScorerError

Model = TypeVar("Model", bound="NgramClassifier")


@dataclass
class NgramClassifier:
    """A logistic regression on hashed character n-grams. Each subclass is one shipped model: its
    artifact's file name and its name in versions."""

    shipped: ClassVar[str] = ""
    default_name: ClassVar[str] = "ngram-classifier"
    features: HashedTfidf
    coef: NDArray[np.float32]  # (BUCKETS,)
    intercept: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        digest = hashlib.sha256(self.coef.tobytes() + self.features.idf.tobytes()).hexdigest()[:10]
        return f"{self.meta.get('name', self.default_name)}-{digest}"

    def fits_like(self, other: NgramClassifier, atol: float = 1e-3) -> bool:
        """Whether two fits are the same model up to float rounding. The recipe is deterministic,
        but lbfgs sums in a processor's own order (AVX2 or AVX-512), so a refit on another machine
        differs in the last bits of its weights and hence in `version`; its scores do not."""
        return (
            self.features.idf.shape == other.features.idf.shape
            and bool(np.allclose(self.features.idf, other.features.idf, rtol=0, atol=1e-5))
            and bool(np.allclose(self.coef, other.coef, rtol=0, atol=atol))
            and abs(self.intercept - other.intercept) <= atol
        )

    def predict(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        logits = np.asarray(self.features.transform(texts) @ self.coef, dtype=np.float32) + self.intercept
        probs: NDArray[np.float32] = (1.0 / (1.0 + np.exp(-np.clip(logits, -40, 40)))).astype(np.float32)
        return probs

    def explain(self, text: str, top: int = 3) -> list[tuple[int, int, float]]:
        """The words pushing `text` towards the positive class most, as (start, end, contribution)."""
        return self.features.word_contributions(self.coef, text, top)

    def save(self, path: Path) -> None:
        """Compressed; only the buckets seen in training are written (about 0.4 MB)."""
        save_arrays(
            path,
            {**self.features.pack(self.coef, ""), "intercept": np.float32(self.intercept)},
            self.meta,
        )

    @classmethod
    def load(cls, path: Path | None = None) -> Self:
        try:
            with load_arrays(path, cls.shipped) as data:
                features, coef = HashedTfidf.unpack("char", data, "")
                return cls(features, coef, float(data["intercept"]), read_meta(data))
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise ScorerError(f"cannot load the {cls.default_name} model {path or cls.shipped}: {exc}") from exc


def fit_classifier(kind: type[Model], texts: Sequence[str], labels: Sequence[int], c: float) -> Model:
    """Logistic regression (lbfgs, balanced classes) on the hashed TF-IDF rows; deterministic."""
    from sklearn.linear_model import LogisticRegression

    features = HashedTfidf.fit("char", texts)
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    lr.fit(features.transform(texts), np.asarray(labels))
    return kind(features, lr.coef_[0].astype(np.float32), float(lr.intercept_[0]))
