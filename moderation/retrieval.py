"""Claim retrieval: BM25 over words and cosine over sentence embeddings, fused.

Lexical matching catches the names and numbers fact-checks hinge on; embeddings catch paraphrase.
Fact-checks are blended by score (`blend`); the knowledge base uses reciprocal-rank fusion
(`fuse`), which needs no weight to be chosen.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
    ]
)


def tokens(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


class BM25:
    """Okapi BM25. Each term's postings hold its documents and their finished term weights as
    arrays, so a query costs one vectorised add per query word, not a Python loop over every
    document holding it (a common word in ten thousand fact-checks made that the slow part)."""

    def __init__(self, documents: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        docs = [Counter(tokens(d)) for d in documents]
        self.size = len(docs)
        lengths = np.asarray([sum(d.values()) for d in docs], dtype=np.float32)
        avg = float(lengths.mean()) if len(docs) else 0.0
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.keys())
        idf = {w: math.log(1 + (self.size - f + 0.5) / (f + 0.5)) for w, f in df.items()}
        gathered: dict[str, tuple[list[int], list[float]]] = {}
        for i, d in enumerate(docs):
            norm = k1 * (1 - b + b * lengths[i] / avg) if avg else k1
            for w, tf in d.items():
                ids, weights = gathered.setdefault(w, ([], []))
                ids.append(i)
                weights.append(idf[w] * tf * (k1 + 1) / (tf + norm))
        self.postings = {
            w: (np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float32))
            for w, (ids, weights) in gathered.items()
        }

    def document_frequency(self, word: str) -> int:
        posting = self.postings.get(word)
        return 0 if posting is None else len(posting[0])

    def scores(self, query: str) -> NDArray[np.float32]:
        out = np.zeros(self.size, dtype=np.float32)
        for w in sorted(set(tokens(query))):  # a fixed order of float additions, whatever the hashing
            posting = self.postings.get(w)
            if posting is not None:
                out[posting[0]] += posting[1]
        return out


BLEND_WEIGHT = 0.3
"""BM25's share in `blend`. Chosen on the CheckThat! 2020 training tweets (MAP@5 0.852 / 0.853 /
0.855 / 0.851 at 0.2 / 0.25 / 0.3 / 0.35, against 0.830 for reciprocal-rank fusion); the dev
split, the reported figure, played no part."""


def blend(
    cosine: NDArray[np.float32], lexical: NDArray[np.float32], weight: float = BLEND_WEIGHT, k: int | None = None
) -> list[int]:
    """The best `k` documents (all when None) by cosine plus `weight` times BM25 scaled to this
    query's best BM25 score: the embedding decides, and shared rare words (names, numbers) break
    its near-ties. Ties go to the earlier document either way."""
    top = float(lexical.max()) if lexical.size else 0.0
    combined = cosine + weight * (lexical / top if top > 0 else lexical)
    candidates = np.arange(len(combined))
    if k is not None and k < len(combined):
        # only what reaches the k-th best score needs sorting (all of it, ties included)
        candidates = np.flatnonzero(combined >= np.partition(combined, len(combined) - k)[len(combined) - k])
    ranked = candidates[np.argsort(-combined[candidates], kind="stable")]
    return [int(i) for i in ranked[:k]]


def fuse(rankings: Sequence[NDArray[np.float32]], k: int = 60, depth: int = 100) -> list[int]:
    """Reciprocal-rank fusion of several score vectors over the same documents."""
    fused: dict[int, float] = {}
    for scores in rankings:
        top = np.argsort(-scores, kind="stable")[:depth]
        for rank, doc in enumerate(top):
            fused[int(doc)] = fused.get(int(doc), 0.0) + 1.0 / (k + rank + 1)
    return sorted(fused, key=lambda d: -fused[d])


def average_precision_at(ranked: Sequence[int], relevant: set[int], k: int) -> float:
    hits, total = 0, 0.0
    for i, doc in enumerate(ranked[:k]):
        if doc in relevant:
            hits += 1
            total += hits / (i + 1)
    return total / min(len(relevant), k) if relevant else 0.0
