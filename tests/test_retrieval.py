"""The hybrid ranking: asking for the best k gives exactly the first k of the full ranking, ties
included, and a batch search finds what one search per post finds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from model.claims import Claim, ClaimIndex
from moderation.retrieval import blend

# few distinct values, so ties (the boundary case of a partial sort) are common
_scores = st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(_scores, _scores, st.integers(min_value=1, max_value=45), st.sampled_from([0.0, 0.3, 1.0]))
def test_top_k_is_the_full_rankings_prefix(cosine: list[float], lexical: list[float], k: int, weight: float) -> None:
    n = min(len(cosine), len(lexical))
    c, lex = np.asarray(cosine[:n], dtype=np.float32), np.asarray(lexical[:n], dtype=np.float32)
    assert blend(c, lex, weight, k) == blend(c, lex, weight)[:k]


def test_batch_search_matches_single_searches() -> None:
    rng = np.random.default_rng(7)
    texts = ["5G towers spread the virus", "bleach cures the flu", "the moon landing was staged", "sharks on highways"]
    vectors = rng.normal(size=(len(texts), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = ClaimIndex([Claim(i, t, "false", f"https://fact.example/{i}", "x") for i, t in enumerate(texts)], vectors)
    posts = ["is it true 5G spreads the virus?", "nice weather", "drink bleach for the flu"]
    # faint query vectors: the shared words decide
    queries = (0.01 * rng.normal(size=(len(posts), 8))).astype(np.float32).tolist()
    batched = index.search_many(posts, queries, k=2)
    single = [index.search(p, q, k=2) for p, q in zip(posts, queries, strict=True)]
    assert [[m.claim for m in ms] for ms in batched] == [[m.claim for m in ms] for ms in single]
    # one product for the batch may round the last bits differently
    assert np.allclose([[m.similarity for m in ms] for ms in batched], [[m.similarity for m in ms] for ms in single])
    assert batched[2][0].claim.id == 1


def test_bm25_scores_do_not_depend_on_string_hashing() -> None:
    """Query words are added in a fixed order: with the set's order (which follows each process's
    string hashing) float rounding differed between runs, enough to tip `modbot train claims`'
    cross-validated choices."""
    import subprocess
    import sys

    from tests.conftest import REPO

    script = (
        "import random, hashlib\n"
        "from moderation.retrieval import BM25\n"
        "rng = random.Random(0)\n"
        "words = [f'w{i}' for i in range(300)]\n"
        "docs = [' '.join(rng.choices(words, k=rng.randint(5, 40))) for _ in range(400)]\n"
        "index = BM25(docs)\n"
        "queries = [' '.join(rng.choices(words, k=25)) for _ in range(200)]\n"
        "print(hashlib.sha256(b''.join(index.scores(q).tobytes() for q in queries)).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1
