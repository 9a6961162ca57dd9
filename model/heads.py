"""The toxicity head: the offline abuse scorer, on the shared embedding plus hashed n-grams.

One logistic regression per category over three blocks of features: the 384-dimensional
all-MiniLM-L6-v2 embedding (computed once per post anyway, so it costs a dot product), and
hashed TF-IDF character and word n-grams of the normalised text (model/ngrams.py). The embedding
carries meaning ("I hope you suffer"); the n-grams carry the exact words a sentence embedding
blurs (slurs, swearing, spelling games the normaliser cannot undo). Together they measure better
on every public set we have than either alone (docs/evaluation.md). Retrainable from public data
with `modbot train`; shipped inside the package as a compressed NumPy file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import numpy as np
from numpy.typing import NDArray

from model.ngrams import HashedTfidf, Kind, load_arrays, read_meta, save_arrays
from moderation.identity import Swaps
from moderation.scoring import ScorerError, ScoreResult, ScoringInput

SHIPPED = "abuse-model.npz"


@dataclass
class Head:
    categories: list[str]
    weights: NDArray[np.float32]  # (embedding dimension, categories)
    bias: NDArray[np.float32]  # (categories,)
    ngrams: list[tuple[HashedTfidf, NDArray[np.float32]]] = field(default_factory=list)
    """Per n-gram block, its features and (BUCKETS, categories) weights."""
    meta: dict[str, Any] = field(default_factory=dict)
    branch: Any = None
    """model.branch.TopLayers: when set, `weights` apply to its vector, followed by the embedding
    where `uses_embedding` (a fully fine-tuned encoder needs nothing of the frozen one's)."""

    @property
    def uses_embedding(self) -> bool:
        return self.branch is None or self.weights.shape[0] > self.branch.shape()["hidden"]

    @property
    def version(self) -> str:
        h = hashlib.sha256(self.weights.tobytes() + self.bias.tobytes())
        for features, coef in self.ngrams:
            h.update(features.idf.tobytes() + coef.tobytes())
        if self.branch is not None:
            for array in self.branch.arrays().values():
                h.update(array.tobytes())
        return f"{self.meta.get('name', 'head')}-{h.hexdigest()[:10]}"

    def logits(self, embeddings: NDArray[np.float32], texts: Sequence[str]) -> NDArray[np.float32]:
        out = embeddings @ self.weights + self.bias
        for features, coef in self.ngrams:
            out = out + np.asarray(features.transform(texts) @ coef, dtype=np.float32)
        return np.asarray(out, dtype=np.float32)

    def predict(self, embeddings: NDArray[np.float32], texts: Sequence[str]) -> NDArray[np.float32]:
        probs: NDArray[np.float32] = (1.0 / (1.0 + np.exp(-np.clip(self.logits(embeddings, texts), -40, 40)))).astype(
            np.float32
        )
        return probs

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {"weights": self.weights, "bias": self.bias}
        for features, coef in self.ngrams:
            arrays.update(features.pack(coef, f"{features.kind}_"))
        meta = {**self.meta, "categories": self.categories, "ngram_blocks": [f.kind for f, _ in self.ngrams]}
        if self.branch is not None:
            arrays.update(self.branch.arrays())
            meta["branch"] = self.branch.shape()
        save_arrays(path, arrays, meta)

    @classmethod
    def load(cls, path: Path | None = None) -> Head:
        try:
            with load_arrays(path, SHIPPED) as data:
                meta = read_meta(data)
                categories = [str(c) for c in meta.pop("categories")]
                kinds = meta.pop("ngram_blocks", [])
                if any(k not in get_args(Kind) for k in kinds):
                    raise ValueError(f"unknown n-gram block in {kinds}")
                weights = np.asarray(data["weights"], dtype=np.float32)
                bias = np.asarray(data["bias"], dtype=np.float32)
                if weights.ndim != 2 or weights.shape[1] != len(categories) or bias.shape != (len(categories),):
                    raise ValueError(
                        f"weights {weights.shape} and bias {bias.shape} do not fit {len(categories)} categories"
                    )
                ngrams = [HashedTfidf.unpack(k, data, f"{k}_") for k in kinds]
                branch = None
                if "branch" in meta:
                    from model.branch import TopLayers

                    branch = TopLayers.from_arrays(data, **meta["branch"])
                return cls(categories, weights, bias, ngrams, meta, branch)
        except (OSError, ValueError, KeyError, EOFError, TypeError, RuntimeError) as exc:
            raise ScorerError(f"cannot load the classifier head {path or SHIPPED}: {exc}") from exc


class HeadScorer:
    """Scores posts with a head; the pipeline hands it each post's text and embedding."""

    name = "head"
    needs_embedding = True

    def __init__(self, head: Head, identity_swaps: int = 0) -> None:
        """`identity_swaps`: for a post naming a group, the mean over it and that many copies
        naming other groups (moderation.scoring.GroupBlind); part of the version, since it
        changes the scores."""
        self.head = head
        self.categories = tuple(head.categories)
        self.identity_swaps = identity_swaps
        self.version = head.version + (f"+{Swaps(identity_swaps).version}" if identity_swaps else "")

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        if not batch:
            return []
        parts = []
        if self.head.branch is not None:
            if any(item.branch is None for item in batch):
                raise ScorerError("head scorer got inputs without its branch's vector (the embedder lacks the branch)")
            parts.append(np.asarray([item.branch for item in batch], dtype=np.float32))
        if self.head.uses_embedding:
            if missing := sum(item.embedding is None for item in batch):
                raise ScorerError(f"head scorer got {missing} inputs without an embedding")
            parts.append(np.asarray([item.embedding for item in batch], dtype=np.float32))
        dense = np.hstack(parts)
        probs = self.head.predict(dense, [item.text for item in batch])
        # A post with no text says nothing: a fine-tuned model, never trained on empty input, can
        # score it anything ([CLS] and [SEP] alone; the first abuse model gave it toxicity 0.99).
        probs[[not item.text.strip() for item in batch]] = 0.0
        return [ScoreResult({c: float(p) for c, p in zip(self.categories, row, strict=True)}) for row in probs]


def fit_head(
    embeddings: NDArray[np.float32],
    texts: Sequence[str],
    labels: NDArray[np.float32],
    categories: list[str],
    c: float,
    kinds: Sequence[Kind] = ("char", "word"),
) -> Head:
    """One L2-regularised logistic regression per category (lbfgs, classes balanced) over the
    embedding and each n-gram block, every block L2-normalised; deterministic."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    blocks = [HashedTfidf.fit(k, texts) for k in kinds]
    x = sp.hstack([sp.csr_matrix(embeddings), *(b.transform(texts) for b in blocks)]).tocsr()
    coefs, intercepts = [], []
    for i in range(len(categories)):
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
        lr.fit(x, labels[:, i].astype(int))
        coefs.append(lr.coef_[0])
        intercepts.append(lr.intercept_[0])
    w = np.asarray(coefs, dtype=np.float32).T  # (features, categories)
    d = embeddings.shape[1]
    ngrams = [(b, w[d + j * b.idf.size : d + (j + 1) * b.idf.size]) for j, b in enumerate(blocks)]
    return Head(categories, w[:d], np.asarray(intercepts, dtype=np.float32), ngrams)
