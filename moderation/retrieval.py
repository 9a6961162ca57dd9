"""Claim retrieval: BM25 over words and cosine over sentence embeddings, fused by reciprocal rank.

Lexical matching catches the names and numbers fact-checks hinge on; embeddings catch paraphrase.
Reciprocal-rank fusion combines the two without calibrating their scores against each other.
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
    def __init__(self, documents: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(tokens(d)) for d in documents]
        self.lengths = np.asarray([sum(d.values()) for d in self.docs], dtype=np.float32)
        self.avg = float(self.lengths.mean()) if len(self.docs) else 0.0
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(self.docs)
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}
        self.postings: dict[str, list[int]] = {}
        for i, d in enumerate(self.docs):
            for w in d:
                self.postings.setdefault(w, []).append(i)

    def scores(self, query: str) -> NDArray[np.float32]:
        out = np.zeros(len(self.docs), dtype=np.float32)
        for w in set(tokens(query)):
            for i in self.postings.get(w, ()):
                tf = self.docs[i][w]
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg)
                out[i] += self.idf[w] * tf * (self.k1 + 1) / norm
        return out


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
