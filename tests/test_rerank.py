"""The fact-check re-ranker: its features say what they claim, the index re-orders only the posts
past the gate, keeps a bounded cache of word pieces, and the shipped map carries a re-ranker that
measured better than the first stage."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from model.claimmap import ClaimMap
from model.claims import Claim, ClaimIndex
from moderation import rerank
from moderation.scoring import ScorerError

WIDTH = 8


class WordEncoder:
    """A stand-in for the transformer (which the shipped-map test and the slow eval use): one
    word piece per whitespace word, each a fixed random unit vector, so matching words align."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    @staticmethod
    def _id(word: str) -> int:
        return zlib.crc32(word.lower().encode()) % 997 + 1000

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [[101, *(self._id(w) for w in t.split()), 102] for t in texts]

    def token_states(self, texts: Sequence[str]) -> list[rerank.TokenStates]:
        self.calls.append(list(texts))
        out = []
        for t in texts:
            ids = [self._id(w) for w in t.split()]
            vectors = (
                np.stack([np.random.default_rng(i).normal(size=WIDTH) for i in ids]) if ids else np.zeros((0, WIDTH))
            )
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
            out.append(rerank.TokenStates(vectors.astype(np.float16), np.asarray(ids, dtype=np.int64)))
        return out


CLAIMS = [
    "the vaccine contains a tracking microchip",  # the one the post means
    "vaccines cause autism in children",
    "the moon landing was filmed in a studio",
    "a microchip tracking program for pets",
]


def _index(weights: np.ndarray | None, **kwargs: object) -> tuple[ClaimIndex, WordEncoder]:
    # plain embeddings that make claim 1 the first stage's best match for the post below
    vectors = np.eye(len(CLAIMS), WIDTH, dtype=np.float32)
    claim_map = ClaimMap(np.eye(WIDTH, dtype=np.float32), np.eye(WIDTH, dtype=np.float32), 0.0, {}, weights)
    encoder = WordEncoder()
    claims = [Claim(i, t, "false", f"https://fact.example/{i}", "x") for i, t in enumerate(CLAIMS)]
    return ClaimIndex(claims, vectors, claim_map, encoder, **kwargs), encoder  # type: ignore[arg-type]


POST = "they put a tracking microchip in the vaccine"
POST_VECTOR = [0.6, 0.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


def _alignment_only() -> np.ndarray:
    weights = np.zeros(len(rerank.FEATURES), dtype=np.float32)
    weights[rerank.FEATURES.index("post word pieces matched in the fact-check (rarity-weighted)")] = 1.0
    return weights


def test_the_re_ranker_puts_the_aligned_fact_check_first_past_the_gate() -> None:
    first_stage, _ = _index(None)
    assert first_stage.reranker is None
    assert [m.claim.id for m in first_stage.search(POST, POST_VECTOR, k=2)] == [1, 0]
    index, encoder = _index(_alignment_only(), rerank_from=0.5)
    found = index.search(POST, POST_VECTOR, k=2)
    assert found[0].claim.id == 0
    assert found[0].similarity == pytest.approx(0.6)  # the reported similarity stays the cosine
    # under the gate nothing is re-ordered and nothing is encoded
    calls = len(encoder.calls)
    gated, _ = _index(_alignment_only(), rerank_from=0.9)
    assert [m.claim.id for m in gated.search(POST, POST_VECTOR, k=2)] == [1, 0]
    assert len(encoder.calls) == calls


def test_word_pieces_are_cached_within_bounds() -> None:
    index, encoder = _index(_alignment_only(), keep=2)
    index.search(POST, POST_VECTOR)
    assert len(encoder.calls[-1]) == 1 + len(CLAIMS)  # the post and every candidate, in one batch
    assert len(index._pieces) == 2
    big, big_encoder = _index(_alignment_only())
    big.search_many([POST, POST], [POST_VECTOR, POST_VECTOR])
    big.search(POST, POST_VECTOR)
    assert big_encoder.calls[-1] == [POST]  # the candidates were kept


def test_features_describe_the_pair() -> None:
    encoder = WordEncoder()
    post_text, claim_text = "5 towers in 2020 spread it", "5 towers spread the virus in 2019"
    post, claim = encoder.token_states([post_text, claim_text])
    candidates = rerank.Candidates(
        mapped=np.asarray([0.7], np.float32),
        plain=np.asarray([0.5], np.float32),
        lexical=np.asarray([3.0], np.float32),
        lexical_top=6.0,
        hybrid=np.asarray([0.9], np.float32),
        best_mapped=0.8,
        best_plain=0.5,
        mutual=np.ones((1, 1), np.float32),
    )
    row = rerank.features(
        candidates,
        rerank.Side(post_text, frozenset({"5", "towers", "2020", "spread"}), post),
        [rerank.Side(claim_text, frozenset({"5", "towers", "spread", "virus", "2019"}), claim)],
        lambda word: 1.0,
        lambda ids: np.ones(len(ids), np.float32),
    )
    named = dict(zip(rerank.FEATURES, row[0].tolist(), strict=True))
    assert named["bm25 scaled to the post's best"] == pytest.approx(0.5)
    assert named["mapped cosine gap to the best"] == pytest.approx(0.1)
    assert named["numbers in both"] == 1 and named["numbers only in the fact-check"] == 1
    assert named["share of the fact-check's words in the post"] == pytest.approx(3 / 5)
    assert named["share of the post's words in the fact-check"] == pytest.approx(3 / 4)
    # 4 of the post's 6 pieces ("5", "towers", "in", "spread") are in the fact-check exactly
    assert 4 / 6 <= named["post word pieces matched in the fact-check (rarity-weighted)"] < 1
    assert named["closest higher-ranked candidate (mapped cosine)"] == 0.0


def test_pairwise_examples() -> None:
    rows = [np.asarray([[1.0] * len(rerank.FEATURES), [0.0] * len(rerank.FEATURES), [2.0] * len(rerank.FEATURES)])]
    diffs, labels = rerank.pairwise_examples(rows, [[True, False, False]])
    assert labels.tolist() == [1, 0, 1, 0]
    assert diffs[:, 0].tolist() == [1.0, -1.0, -1.0, 1.0]
    none, _ = rerank.pairwise_examples(rows, [[False, False, False]])
    assert none.shape == (0, len(rerank.FEATURES))


def test_artifact_with_a_re_ranker_round_trips_and_a_mismatch_is_refused(tmp_path: Path) -> None:
    weights = np.arange(len(rerank.FEATURES), dtype=np.float32)
    eye = np.eye(WIDTH, dtype=np.float32)
    ClaimMap(eye, eye, 0.1, {"recipe": "test"}, weights).save(tmp_path / "map.npz")
    loaded = ClaimMap.load(tmp_path / "map.npz")
    assert loaded.rerank_weights is not None and np.array_equal(loaded.rerank_weights, weights)
    ClaimMap(eye, eye, 0.1, {"recipe": "test"}).save(tmp_path / "old.npz")
    assert ClaimMap.load(tmp_path / "old.npz").rerank_weights is None
    assert ClaimMap.load(tmp_path / "old.npz").version != loaded.version
    with np.load(tmp_path / "map.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["meta"] = np.frombuffer(
        bytes(arrays["meta"]).replace(b"rarity-weighted", b"plain"), dtype=np.uint8
    )  # as if fitted by another version
    np.savez(tmp_path / "other.npz", **arrays)
    with pytest.raises(ScorerError, match="other features"):
        ClaimMap.load(tmp_path / "other.npz")


def test_the_shipped_map_carries_a_re_ranker_that_measured_better() -> None:
    shipped = ClaimMap.load()
    assert shipped.rerank_weights is not None and np.abs(shipped.rerank_weights).sum() > 0
    cv = shipped.meta["metrics"]
    assert cv["cross-validated MAP@5 with the re-ranker"] > cv["cross-validated MAP@5"]
