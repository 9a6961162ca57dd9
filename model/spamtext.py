"""The spam-text classifier: what a post says, where the spam rules look at how posts arrive.

Character n-grams (2-5, inside word boundaries) hashed into 2^20 buckets, TF-IDF weighted, then
a logistic regression. Not the shared sentence embedding: spam is a register (prices, short
codes, "txt WIN to 87121", "claim your prize") that a semantic embedding smooths away. On the
deduplicated SMS Spam Collection, 5-fold cross-validated, the n-grams reach spam F1 0.96 at a
ham false-positive rate of 0.2 %; a head on the embedding stopped at 0.95 / 0.75 %.

Hashing keeps the artifact a few arrays (no vocabulary, no pickle): the buckets seen in training
with their IDF and weight. A bucket never seen in training counts for nothing, in training and
at inference alike, so the shipped model and the cross-validated recipe are the same code.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from moderation.scoring import ScorerError, ScoreResult, ScoringInput

SHIPPED = "spam-text.npz"
BUCKETS = 2**20
_EXPLAIN_AT = 0.5
_WORD = re.compile(r"\S+")


def _vectoriser() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), n_features=BUCKETS, alternate_sign=False, norm=None, lowercase=True
    )


@dataclass
class SpamTextModel:
    idf: NDArray[np.float32]  # (BUCKETS,), 0 where no training text had the bucket
    coef: NDArray[np.float32]  # (BUCKETS,)
    intercept: float
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._hasher = _vectoriser()

    @property
    def version(self) -> str:
        digest = hashlib.sha256(self.coef.tobytes() + self.idf.tobytes()).hexdigest()[:10]
        return f"{self.meta.get('name', 'spam-text')}-{digest}"

    def _features(self, texts: Sequence[str]) -> Any:
        """TF-IDF rows, L2-normalised over the buckets the model knows."""
        from sklearn.preprocessing import normalize

        counts = self._hasher.transform(list(texts)).astype(np.float32)
        return normalize(counts.multiply(self.idf).tocsr(), norm="l2", copy=False)

    def predict(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        logits = np.asarray(self._features(texts) @ self.coef, dtype=np.float32) + self.intercept
        probs: NDArray[np.float32] = (1.0 / (1.0 + np.exp(-np.clip(logits, -40, 40)))).astype(np.float32)
        return probs

    def explain(self, text: str, top: int = 3) -> list[tuple[int, int, float]]:
        """The words pushing `text` towards spam most, as (start, end, contribution) in `text`.

        char_wb n-grams never cross whitespace, so a post's logit is exactly the sum of its
        words' parts (divided by the post's norm, the same for every word)."""
        words = list(_WORD.finditer(text))
        if not words:
            return []
        weighted = self._hasher.transform([text, *(w.group() for w in words)]).astype(np.float32).multiply(self.idf)
        post = weighted.tocsr()[0]
        norm = float(np.sqrt(post.multiply(post).sum())) or 1.0
        per_word = weighted.tocsr()[1:] @ self.coef
        ranked = sorted(
            ((w.start(), w.end(), float(c) / norm) for w, c in zip(words, per_word, strict=True)),
            key=lambda item: -item[2],
        )
        return [r for r in ranked[:top] if r[2] > 0]

    def save(self, path: Path) -> None:
        """Only the buckets seen in training are written; compressed, it stays around a megabyte."""
        seen = np.flatnonzero(self.idf).astype(np.int32)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            np.savez_compressed(
                f,
                buckets=seen,
                idf=self.idf[seen],
                coef=self.coef[seen],
                intercept=np.float32(self.intercept),
                meta=np.frombuffer(json.dumps(self.meta).encode(), dtype=np.uint8),
            )

    @classmethod
    def load(cls, path: Path | None = None) -> SpamTextModel:
        try:
            raw = (
                path.read_bytes()
                if path is not None
                else resources.files("model").joinpath("artifacts", SHIPPED).read_bytes()
            )
            with np.load(io.BytesIO(raw), allow_pickle=False) as data:
                buckets = data["buckets"]
                if buckets.size and (buckets.min() < 0 or buckets.max() >= BUCKETS):
                    raise ValueError(f"bucket outside 0..{BUCKETS - 1}")
                idf = np.zeros(BUCKETS, dtype=np.float32)
                coef = np.zeros(BUCKETS, dtype=np.float32)
                idf[buckets] = data["idf"]
                coef[buckets] = data["coef"]
                meta = json.loads(data["meta"].tobytes().decode())
                return cls(idf, coef, float(data["intercept"]), dict(meta))
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise ScorerError(f"cannot load the spam-text model {path or SHIPPED}: {exc}") from exc


def fit(texts: Sequence[str], labels: Sequence[int], c: float = 20.0) -> SpamTextModel:
    """Logistic regression (lbfgs, balanced classes) on the hashed TF-IDF rows; deterministic."""
    from sklearn.linear_model import LogisticRegression

    counts = _vectoriser().transform(list(texts))
    df = np.bincount(counts.indices, minlength=BUCKETS)
    idf = np.where(df > 0, np.log((1 + len(texts)) / (1 + df)) + 1, 0).astype(np.float32)
    model = SpamTextModel(idf, np.zeros(BUCKETS, dtype=np.float32), 0.0)
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    lr.fit(model._features(texts), np.asarray(labels))
    model.coef = lr.coef_[0].astype(np.float32)
    model.intercept = float(lr.intercept_[0])
    return model


class SpamTextScorer:
    """Category `spam` from the text alone; the note names the words that weighed most."""

    name = "spam-text"
    needs_embedding = False
    categories: tuple[str, ...] = ("spam",)

    def __init__(self, model: SpamTextModel) -> None:
        self.model = model
        self.version = model.version

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        probs = self.model.predict([item.text for item in batch])
        results = []
        for item, p in zip(batch, probs, strict=True):
            if p < _EXPLAIN_AT:
                results.append(ScoreResult({"spam": float(p)}))
                continue
            words = self.model.explain(item.text)
            quoted = ", ".join(repr(item.text[s:e]) for s, e, _ in words)
            note = f"spam-text model {p:.2f}" + (f"; words most like spam: {quoted}" if quoted else "")
            results.append(
                ScoreResult(
                    {"spam": float(p)}, spans={"spam": tuple((s, e) for s, e, _ in words)}, notes={"spam": note}
                )
            )
        return results
