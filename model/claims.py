"""The fact-check index: claims from the store, searchable by words and by embedding, and a scorer
that puts the best-matching fact-check (claim, rating, URL) into a decision as evidence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from moderation.retrieval import BM25, blend
from moderation.scoring import ScoreResult, ScoringInput


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    text: str
    rating: str
    url: str
    publisher: str


@dataclass(frozen=True, slots=True)
class Match:
    claim: Claim
    similarity: float
    """cosine similarity of post and claim embeddings, in [0, 1] for this model"""


class ClaimIndex:
    def __init__(self, claims: Sequence[Claim], embeddings: NDArray[np.float32]) -> None:
        if len(claims) != len(embeddings):
            raise ValueError(f"{len(claims)} claims but {len(embeddings)} embeddings")
        self.claims = list(claims)
        vectors = np.asarray(embeddings, dtype=np.float32)
        self.embeddings = vectors.reshape(len(claims), -1) if len(claims) else np.zeros((0, 0), dtype=np.float32)
        self.bm25 = BM25([c.text for c in claims])

    def search(self, text: str, embedding: Sequence[float], k: int = 5) -> list[Match]:
        if not self.claims:
            return []
        cosine = self.embeddings @ np.asarray(embedding, dtype=np.float32)
        ranked = blend(cosine, self.bm25.scores(text))[:k]
        return [Match(self.claims[i], float(max(0.0, cosine[i]))) for i in ranked]


class ClaimScorer:
    """Category `misinformation`: how closely the post matches a fact-checked claim. The note names
    the claim, its rating and its URL, so a decision (and a context reply) can cite it."""

    name = "claims"
    categories: tuple[str, ...] = ("misinformation",)
    needs_embedding = True

    def __init__(self, index: ClaimIndex, version: str) -> None:
        self.index = index
        self.version = version

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        out = []
        for item in batch:
            assert item.embedding is not None
            matches = self.index.search(item.text, item.embedding, k=1)
            if not matches:
                out.append(ScoreResult({"misinformation": 0.0}))
                continue
            m = matches[0]
            note = (
                f"{_NOTE_PREFIX} {m.claim.id} ({m.claim.rating or 'unrated'}, {m.claim.publisher or 'unknown'}):"
                f' "{m.claim.text[:160]}" {m.claim.url}'
            )
            out.append(ScoreResult({"misinformation": round(m.similarity, 4)}, notes={"misinformation": note}))
        return out


_NOTE_PREFIX = "matches fact-check"
_NOTE_ID = re.compile(re.escape(_NOTE_PREFIX) + r" (\d+) ")


def claim_id_in(message: str) -> int | None:
    """The fact-check a decision reason names (for the context reply that cites it)."""
    m = _NOTE_ID.search(message)
    return int(m.group(1)) if m else None
