"""The fact-check index: claims from the store, searchable by words and by embedding, and a scorer
that puts the best-matching fact-check (claim, rating, URL) into a decision as evidence."""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from model.claimmap import ClaimMap
from moderation import rerank
from moderation.normalise import normalise
from moderation.retrieval import BLEND_WEIGHT, BM25, blend, tokens
from moderation.scoring import ScorerError, ScoreResult, ScoringInput
from moderation.types import Ref, RefKind

_CACHE = 2048
"""Fact-checks whose word pieces the re-ranker keeps (about 27 KB each): the candidates of posts
that pass the gate repeat (a viral claim), and encoding 30 candidates anew for each such post
would cost more than the post itself."""


class TokenEncoder(Protocol):
    def token_states(self, texts: Sequence[str]) -> list[rerank.TokenStates]: ...

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]: ...


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    text: str
    rating: str
    url: str
    publisher: str


@dataclass(frozen=True, slots=True)
class _First:
    """One post through the first stage."""

    text: str
    query: NDArray[np.float32]
    cosines: NDArray[np.float32]
    """against every fact-check, through the map"""
    lexical: NDArray[np.float32]
    ranked: list[int]


@dataclass(frozen=True, slots=True)
class Match:
    claim: Claim
    similarity: float
    """cosine similarity of post and claim embeddings (through the index's map, when it has one),
    clipped to [0, 1]"""


class ClaimIndex:
    """`claim_map`: the fitted maps (model/claimmap.py) that fact-checks' and posts' embeddings
    pass through, with their own blend weight; without it, the plain embedding and the default
    weight. With an `encoder` and a map that carries a re-ranker, the first stage's best
    `rerank.DEPTH` candidates of each post whose best match reaches `rerank_from` are re-ordered
    by it (below that no fact-check is reported anyway, and most posts are below it)."""

    def __init__(
        self,
        claims: Sequence[Claim],
        embeddings: NDArray[np.float32],
        claim_map: ClaimMap | None = None,
        encoder: TokenEncoder | None = None,
        rerank_from: float = 0.0,
        keep: int = _CACHE,
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
        self.plain = vectors
        self.embeddings = claim_map.claims(vectors) if claim_map is not None and len(claims) else vectors
        self.blend_weight = claim_map.blend_weight if claim_map is not None else BLEND_WEIGHT
        self.bm25 = BM25([c.text for c in claims])
        weights = claim_map.rerank_weights if claim_map is not None else None
        self.reranker = weights if encoder is not None and len(claims) else None
        """None without a re-ranker in the map or an encoder: the first stage's order stands"""
        self.encoder = encoder
        self.rerank_from = rerank_from
        self.keep = keep
        self._texts: list[str] = []
        self._words: list[frozenset[str]] = []
        self._piece_idf = np.zeros(0, dtype=np.float32)
        self._pieces: OrderedDict[int, rerank.TokenStates] = OrderedDict()
        if self.reranker is not None and encoder is not None:
            self._texts = [normalise(c.text).text for c in claims]
            self._words = [frozenset(tokens(c.text)) for c in claims]
            self._piece_idf = _piece_idf(encoder.token_ids(self._texts))

    def search(self, text: str, embedding: Sequence[float], k: int = 5) -> list[Match]:
        return self.search_many([text], [embedding], k)[0]

    def search_many(self, texts: Sequence[str], embeddings: Sequence[Sequence[float]], k: int = 5) -> list[list[Match]]:
        """The best `k` fact-checks for each text; one matrix product for the whole batch."""
        if not self.claims:
            return [[] for _ in texts]
        first = self._first_stage(texts, embeddings, max(k, rerank.DEPTH) if self.reranker is not None else k)
        ranked = [f.ranked for f in first]
        if self.reranker is not None:
            gated = [i for i, f in enumerate(first) if f.cosines[f.ranked[0]] >= self.rerank_from]
            features = self._rows([first[q] for q in gated]) if gated else []
            for q, rows in zip(gated, features, strict=True):
                ranked[q] = [ranked[q][j] for j in rerank.order(self.reranker, rows)]
        return [
            [Match(self.claims[i], float(max(0.0, f.cosines[i]))) for i in r[:k]]
            for r, f in zip(ranked, first, strict=True)
        ]

    def candidate_rows(
        self, texts: Sequence[str], embeddings: Sequence[Sequence[float]] | NDArray[np.float32]
    ) -> list[tuple[list[int], NDArray[np.float32]]]:
        """Each post's first-stage candidates (positions in `claims`, best first) and the
        re-ranker's features for them, whatever the gate: what `modbot train claims` fits on."""
        if self.reranker is None:
            raise ValueError("candidate features need fact-checks, a token encoder and a map with a re-ranker")
        first = self._first_stage(texts, embeddings, rerank.DEPTH)
        return [(f.ranked, rows) for f, rows in zip(first, self._rows(first), strict=True)]

    def _first_stage(
        self, texts: Sequence[str], embeddings: Sequence[Sequence[float]] | NDArray[np.float32], depth: int
    ) -> list[_First]:
        queries = np.asarray(embeddings, dtype=np.float32).reshape(len(texts), -1)
        cosines = (self.map.posts(queries) if self.map is not None else queries) @ self.embeddings.T
        out = []
        for text, query, cosine in zip(texts, queries, cosines, strict=True):
            lexical = self.bm25.scores(text)
            out.append(_First(text, query, cosine, lexical, blend(cosine, lexical, self.blend_weight, depth)))
        return out

    def _rows(self, first: Sequence[_First]) -> list[NDArray[np.float32]]:
        """The re-ranker's features for each post's candidates, encoding the posts' word pieces and
        those of their candidates not already kept, in one batch."""
        assert self.encoder is not None
        needed = {i for f in first for i in f.ranked}
        missing = sorted(needed - self._pieces.keys())
        states = self.encoder.token_states([f.text for f in first] + [self._texts[i] for i in missing])
        pieces = {i: self._pieces[i] for i in needed & self._pieces.keys()} | dict(
            zip(missing, states[len(first) :], strict=True)
        )
        for i in needed:  # the most recently used last; the oldest go
            self._pieces.pop(i, None)
            self._pieces[i] = pieces[i]
        while len(self._pieces) > self.keep:
            self._pieces.popitem(last=False)
        out = []
        for f, post_pieces in zip(first, states[: len(first)], strict=True):
            candidates = f.ranked
            plain = self.plain @ f.query / max(float(np.linalg.norm(f.query)), 1e-9)
            mapped = self.embeddings[candidates]
            top = float(f.lexical.max()) if f.lexical.size else 0.0
            scores = rerank.Candidates(
                mapped=f.cosines[candidates],
                plain=plain[candidates],
                lexical=f.lexical[candidates],
                lexical_top=top,
                hybrid=f.cosines[candidates] + self.blend_weight * f.lexical[candidates] / (top if top > 0 else 1.0),
                best_mapped=float(f.cosines.max()),
                best_plain=float(plain.max()),
                mutual=mapped @ mapped.T,
            )
            out.append(
                rerank.features(
                    scores,
                    rerank.Side(f.text, frozenset(tokens(f.text)), post_pieces),
                    [rerank.Side(self._texts[i], self._words[i], pieces[i]) for i in candidates],
                    self._word_idf,
                    self._idf_of_pieces,
                )
            )
        return out

    def _word_idf(self, word: str) -> float:
        return math.log(len(self.claims) / (1 + self.bm25.document_frequency(word)))

    def _idf_of_pieces(self, ids: NDArray[np.int64]) -> NDArray[np.float32]:
        """Rarity of word pieces in the fact-checks; a piece no fact-check has counts as rarest."""
        rarest = math.log(max(len(self.claims), 1))
        known = ids < len(self._piece_idf)
        out = np.full(len(ids), rarest, dtype=np.float32)
        out[known] = self._piece_idf[ids[known]]
        return out


def _piece_idf(ids: Sequence[Sequence[int]]) -> NDArray[np.float32]:
    """log(N / (1 + document frequency)) per word-piece id, floored at 0 (common pieces count nothing)."""
    counts: Counter[int] = Counter(piece for row in ids for piece in set(row))
    size = max(counts, default=-1) + 1
    df = np.zeros(size, dtype=np.float32)
    for piece, n in counts.items():
        df[piece] = n
    return np.maximum(np.log(len(ids) / (1 + df)), 0.0).astype(np.float32)


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
            ref = {"misinformation": Ref(RefKind.FACT_CHECK, str(m.claim.id))}
            out.append(
                ScoreResult({"misinformation": round(m.similarity, 4)}, notes={"misinformation": note}, refs=ref)
            )
        return out


_NOTE_PREFIX = "matches fact-check"
