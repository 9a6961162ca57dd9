"""Second-stage ranking of fact-check candidates: a linear model over features of each
(post, candidate) pair.

The first stage (mapped cosine + BM25, `retrieval.blend`) finds the right fact-check among its top
30 for 98 % of CheckThat! dev tweets but puts it first for only 84 %: near misses share the topic
and the names. What tells them apart is which words line up with which, so besides the first
stage's own scores the re-ranker sees late-interaction scores (each word piece of one text against
its best match in the other, weighted by rarity, as ColBERT does) and word, number and redundancy
features. The weights are fitted by `modbot train claims` on the training tweets with a pairwise
loss (relevant above each non-relevant candidate of the same tweet); nothing here is learnt at
run time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

DEPTH = 30
"""Candidates re-ranked per post. Fewer lost more than they saved: with 10 the right fact-check is
outside the list too often (cross-validated MAP@5 0.915 at 10, 0.918 at 20, 0.921 at 30)."""

FEATURES = (
    "mapped cosine",
    "cosine",
    "bm25 scaled to the post's best",
    "bm25",
    "hybrid score",
    "1 / first-stage rank",
    "hybrid gap to the best",
    "mapped cosine gap to the best",
    "cosine gap to the best",
    "share of the fact-check's words in the post",
    "share of the post's words in the fact-check",
    "rarity-weighted share of the fact-check's words in the post",
    "numbers in both",
    "numbers only in the fact-check",
    "log fact-check length in words",
    "closest higher-ranked candidate (mapped cosine)",
    "post word pieces matched in the fact-check (rarity-weighted)",
    "fact-check word pieces matched in the post (rarity-weighted)",
)

_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class TokenStates:
    """A text's word pieces after the encoder: unit vectors (pieces, width) and the pieces' ids,
    without the [CLS] and [SEP] markers."""

    vectors: NDArray[np.float16]
    ids: NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Candidates:
    """One post's first-stage candidates, best first, with the scores the first stage saw."""

    mapped: NDArray[np.float32]
    plain: NDArray[np.float32]
    lexical: NDArray[np.float32]
    lexical_top: float
    """the post's best BM25 score over the whole collection"""
    hybrid: NDArray[np.float32]
    best_mapped: float
    best_plain: float
    mutual: NDArray[np.float32]
    """(candidates, candidates): mapped cosines between the candidates"""


@dataclass(frozen=True, slots=True)
class Side:
    """One text of a pair as the features see it."""

    text: str
    words: frozenset[str]
    """BM25's tokens (lower case, stop words out)"""
    pieces: TokenStates


def features(
    candidates: Candidates,
    post: Side,
    claims: Sequence[Side],
    word_idf: Callable[[str], float],
    piece_idf: Callable[[NDArray[np.int64]], NDArray[np.float32]],
) -> NDArray[np.float32]:
    """(candidates, len(FEATURES)) for one post; the columns are FEATURES in order."""
    c = candidates
    top = c.lexical_top if c.lexical_top > 0 else 1.0
    post_numbers = set(_NUMBER.findall(post.text))
    post_vectors = post.pieces.vectors.astype(np.float32)
    post_weights = piece_idf(post.pieces.ids)
    rows = []
    for r, claim in enumerate(claims):
        shared = post.words & claim.words
        claim_idf = math.fsum(word_idf(w) for w in claim.words) or 1.0  # exact: any set order
        numbers = set(_NUMBER.findall(claim.text))
        similarity = post_vectors @ claim.pieces.vectors.astype(np.float32).T
        rows.append(
            [
                c.mapped[r],
                c.plain[r],
                c.lexical[r] / top,
                c.lexical[r],
                c.hybrid[r],
                1.0 / (r + 1),
                c.hybrid[0] - c.hybrid[r],
                c.best_mapped - c.mapped[r],
                c.best_plain - c.plain[r],
                len(shared) / max(1, len(claim.words)),
                len(shared) / max(1, len(post.words)),
                math.fsum(word_idf(w) for w in shared) / claim_idf,
                len(post_numbers & numbers),
                len(numbers - post_numbers),
                math.log1p(len(claim.words)),
                float(c.mutual[r, :r].max()) if r else 0.0,
                _weighted_max(similarity, post_weights, axis=1),
                _weighted_max(similarity, piece_idf(claim.pieces.ids), axis=0),
            ]
        )
    return np.asarray(rows, dtype=np.float32).reshape(len(claims), len(FEATURES))


def _weighted_max(similarity: NDArray[np.float32], weights: NDArray[np.float32], axis: int) -> float:
    """Each piece's best match on the other side, averaged with the pieces' weights."""
    if similarity.size == 0 or float(weights.sum()) <= 0:
        return 0.0
    return float((similarity.max(axis=axis) * weights).sum() / weights.sum())


def order(weights: NDArray[np.float32], rows: NDArray[np.float32]) -> list[int]:
    """Candidate positions by the re-ranker's score, best first; ties keep the first stage's order."""
    return [int(i) for i in np.argsort(-(rows @ weights), kind="stable")]


def pairwise_examples(
    rows: Sequence[NDArray[np.float32]], relevant: Sequence[Sequence[bool]]
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Differences (relevant - other, and the reverse) between the candidates of each post: what
    a logistic regression without intercept learns a ranking from."""
    diffs: list[NDArray[np.float32]] = []
    for x, rel in zip(rows, relevant, strict=True):
        good = [i for i, r in enumerate(rel) if r]
        bad = [i for i, r in enumerate(rel) if not r]
        for g in good:
            for b in bad:
                diffs += [x[g] - x[b], x[b] - x[g]]
    if not diffs:
        return np.zeros((0, len(FEATURES)), dtype=np.float32), np.zeros(0, dtype=np.int64)
    labels = np.tile(np.asarray([1, 0], dtype=np.int64), len(diffs) // 2)
    return np.asarray(diffs, dtype=np.float32), labels
