"""The fact-check index: claims from the store, searchable by words and by embedding, and a scorer
that puts the best-matching fact-check (claim, rating, URL) into a decision as evidence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from model.claimmap import ClaimMap
from moderation.retrieval import BLEND_WEIGHT, BM25, blend
from moderation.scoring import ScorerError, ScoreResult, ScoringInput


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
    """cosine similarity of post and claim embeddings (through the index's map, when it has one),
    clipped to [0, 1]"""


class ClaimIndex:
    """`claim_map`: the fitted maps (model/claimmap.py) that fact-checks' and posts' embeddings
    pass through, with their own blend weight; without it, the plain embedding and the default
    weight."""

    def __init__(
        self, claims: Sequence[Claim], embeddings: NDArray[np.float32], claim_map: ClaimMap | None = None
    ) -> None:
        if len(claims) != len(embeddings):
            raise ValueError(f"{len(claims)} claims but {len(embeddings)} embeddings")
        self.claims = list(claims)
        vectors = np.asarray(embeddings, dtype=np.float32)
        vectors = vectors.reshape(len(claims), -1) if len(claims) else np.zeros((0, 0), dtype=np.float32)
        if claim_map is not None and len(claims) and vectors.shape[1] != claim_map.width:
            raise ValueError(
                f"the fact-check map takes {claim_map.width}-d embeddings; the claims have {vectors.shape[1]}"
            )
        self.map = claim_map
        self.embeddings = claim_map.claims(vectors) if claim_map is not None and len(claims) else vectors
        self.blend_weight = claim_map.blend_weight if claim_map is not None else BLEND_WEIGHT
        self.bm25 = BM25([c.text for c in claims])

    def search(self, text: str, embedding: Sequence[float], k: int = 5) -> list[Match]:
        return self.search_many([text], [embedding], k)[0]

    def search_many(self, texts: Sequence[str], embeddings: Sequence[Sequence[float]], k: int = 5) -> list[list[Match]]:
        """The best `k` fact-checks for each text; one matrix product for the whole batch."""
        if not self.claims:
            return [[] for _ in texts]
        queries = np.asarray(embeddings, dtype=np.float32).reshape(len(texts), -1)
        cosines = (self.map.posts(queries) if self.map is not None else queries) @ self.embeddings.T
        return [
            [
                Match(self.claims[i], float(max(0.0, cosine[i])))
                for i in blend(cosine, self.bm25.scores(text), self.blend_weight, k)
            ]
            for text, cosine in zip(texts, cosines, strict=True)
        ]


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
        embeddings = [item.embedding for item in batch if item.embedding is not None]
        if len(embeddings) != len(batch):
            raise ScorerError("the claims scorer got posts without embeddings (the embedding model is off)")
        found = self.index.search_many([item.text for item in batch], embeddings, k=1)
        for matches in found:
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
