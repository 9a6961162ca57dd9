"""Hashed TF-IDF n-gram features, the lexical half of the shipped classifiers.

Hashing (2^20 buckets) keeps an artifact a few arrays, with no vocabulary and no pickle: the
buckets seen in training with their IDF and weights. A bucket never seen in training counts for
nothing, in training and at inference alike, so a cross-validated recipe and the shipped model
run the same code.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

BUCKETS = 2**20
_WORD = re.compile(r"\S+")
Kind = Literal["char", "word"]
_ANALYSERS: dict[str, dict[str, Any]] = {
    # character 2-5-grams inside word boundaries: robust to spelling games and unseen words
    "char": {"analyzer": "char_wb", "ngram_range": (2, 5)},
    # words and word pairs, punctuation kept as tokens ("!!", "?")
    "word": {"analyzer": "word", "ngram_range": (1, 2), "token_pattern": r"(?u)\b\w+\b|[^\w\s]"},
}


def hasher(kind: Kind) -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(n_features=BUCKETS, alternate_sign=False, norm=None, lowercase=True, **_ANALYSERS[kind])


@dataclass
class HashedTfidf:
    kind: Kind
    idf: NDArray[np.float32]
    """(BUCKETS,), 0 where no training text had the bucket"""

    def __post_init__(self) -> None:
        self._hasher = hasher(self.kind)

    @classmethod
    def fit(cls, kind: Kind, texts: Sequence[str], min_df: int = 1) -> HashedTfidf:
        """`min_df`: buckets in fewer training texts count for nothing (a smaller artifact)."""
        counts = hasher(kind).transform(list(texts))
        df = np.bincount(counts.indices, minlength=BUCKETS)
        idf = np.where(df >= max(min_df, 1), np.log((1 + len(texts)) / (1 + df)) + 1, 0).astype(np.float32)
        return cls(kind, idf)

    def weighted(self, texts: Sequence[str]) -> Any:
        """Counts times IDF, not normalised (sparse rows)."""
        return self._hasher.transform(list(texts)).astype(np.float32).multiply(self.idf).tocsr()

    def transform(self, texts: Sequence[str]) -> Any:
        """TF-IDF rows, L2-normalised over the buckets the model knows."""
        from sklearn.preprocessing import normalize

        return normalize(self.weighted(texts), norm="l2", copy=False)

    def word_contributions(self, coef: NDArray[np.float32], text: str, top: int = 3) -> list[tuple[int, int, float]]:
        """The words of `text` pushing its logit up most, as (start, end, contribution), for a
        char model and one output's weights `coef` (BUCKETS,).

        char_wb n-grams never cross whitespace, so a post's logit is exactly the sum of its
        words' parts (divided by the post's norm, the same for every word)."""
        words = list(_WORD.finditer(text))
        if not words:
            return []
        weighted = self.weighted([text, *(w.group() for w in words)])
        post = weighted[0]
        norm = float(np.sqrt(post.multiply(post).sum())) or 1.0
        per_word = weighted[1:] @ coef
        ranked = sorted(
            ((w.start(), w.end(), float(c) / norm) for w, c in zip(words, per_word, strict=True)),
            key=lambda item: -item[2],
        )
        return [r for r in ranked[:top] if r[2] > 0]

    def pack(self, coef: NDArray[np.float32], prefix: str) -> dict[str, NDArray[Any]]:
        """The seen buckets with their IDF and (buckets, outputs) weights, for np.savez."""
        seen = np.flatnonzero(self.idf).astype(np.int32)
        return {f"{prefix}buckets": seen, f"{prefix}idf": self.idf[seen], f"{prefix}coef": coef[seen]}

    @classmethod
    def unpack(cls, kind: Kind, data: Any, prefix: str) -> tuple[HashedTfidf, NDArray[np.float32]]:
        buckets = data[f"{prefix}buckets"]
        if buckets.size and (buckets.min() < 0 or buckets.max() >= BUCKETS):
            raise ValueError(f"{prefix}buckets has a bucket outside 0..{BUCKETS - 1}")
        packed = data[f"{prefix}coef"]
        idf = np.zeros(BUCKETS, dtype=np.float32)
        coef = np.zeros((BUCKETS, *packed.shape[1:]), dtype=np.float32)
        idf[buckets] = data[f"{prefix}idf"]
        coef[buckets] = packed
        return cls(kind, idf), coef


def save_arrays(path: Path, arrays: dict[str, Any], meta: dict[str, Any]) -> None:
    """An artifact: named arrays plus JSON metadata, compressed, readable without pickle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta_bytes = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with path.open("wb") as f:
        np.savez_compressed(f, meta=meta_bytes, **arrays)


def load_arrays(path: Path | None, shipped: str) -> Any:
    """The artifact at `path`, or the one shipped in the package (a context manager)."""
    raw = (
        path.read_bytes() if path is not None else resources.files("model").joinpath("artifacts", shipped).read_bytes()
    )
    return np.load(io.BytesIO(raw), allow_pickle=False)


def read_meta(data: Any) -> dict[str, Any]:
    meta = json.loads(data["meta"].tobytes().decode())
    if not isinstance(meta, dict):
        raise ValueError("meta is not a JSON object")
    return meta
