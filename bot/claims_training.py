"""`modbot train claims`: the recipe behind the shipped fact-check map (model/claimmap.py).

Data: the CheckThat! 2020 task 2 training tweets, each with the Snopes fact-checks that verify it,
and the whole fact-check collection; the dev tweets are never seen (`modbot eval claims` scores
them). The epoch count and BM25's blend weight are the pair with the best MAP@5 over 5 folds of
the training tweets (each fold scored by maps fitted on the other four; folds drawn from the
seed); the shipped map is then fitted on every training tweet for that many epochs. Texts go
through the normaliser, as live posts and imported fact-checks do.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.evaluation import datasets
from bot.training import embed_cached, saved
from model.claimmap import ClaimMap, fit_map
from model.embedding import Embedder
from moderation.normalise import normalise
from moderation.retrieval import BLEND_WEIGHT, BM25, average_precision_at, blend

RECIPE = "claims-map-recipe-2"
EPOCHS = 20
BLEND_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
FOLDS = 5


def held_out_map5(
    mapped_queries: NDArray[np.float32],
    mapped_docs: NDArray[np.float32],
    lexical: list[NDArray[np.float32]],
    relevant: list[set[int]],
    weight: float,
) -> float:
    """MAP@5 of the hybrid search (cosine + `weight` x scaled BM25), documents by position."""
    return float(
        np.mean(
            [
                average_precision_at(blend(mapped_docs @ v, lex, weight, 5), rel, 5)
                for v, lex, rel in zip(mapped_queries, lexical, relevant, strict=True)
            ]
        )
    )


def train(data: Path, out: Path, cache_dir: Path, seed: int = 13) -> tuple[ClaimMap, dict[str, Any]]:
    started = time.perf_counter()
    task = datasets.checkthat(data, "train")
    position = {claim_id: k for k, (claim_id, _) in enumerate(task.claims)}
    doc_texts = [normalise(t).text for _, t in task.claims]
    queries = [
        (normalise(t).text, {position[c] for c in task.relevant.get(q, ()) if c in position}) for q, t in task.queries
    ]
    queries = [(t, rel) for t, rel in queries if rel]
    if not queries:
        raise ValueError(f"no CheckThat! training tweet in {data} has a fact-check in the collection")
    embedder = Embedder()
    vectors = embed_cached(embedder, doc_texts + [t for t, _ in queries], cache_dir / "claims-embeddings.npz")
    docs, query_vectors = vectors[: len(doc_texts)], vectors[len(doc_texts) :]
    folds = np.random.default_rng(seed).permutation(len(queries)) % FOLDS
    bm25 = BM25(doc_texts)
    lexical = [bm25.scores(t) for t, _ in queries]
    table = np.zeros((EPOCHS, len(BLEND_WEIGHTS)))
    plain = 0.0
    for fold in range(FOLDS):
        fit = np.flatnonzero(folds != fold)
        check = np.flatnonzero(folds == fold)
        share = len(check) / len(queries)
        lex, rel = [lexical[i] for i in check], [queries[i][1] for i in check]
        plain += share * held_out_map5(query_vectors[check], docs, lex, rel, BLEND_WEIGHT)
        maps = fit_map(query_vectors[fit], [sorted(queries[i][1]) for i in fit], docs, seed, EPOCHS)
        for epoch, (post_weights, claim_weights) in enumerate(maps):
            candidate = ClaimMap(post_weights, claim_weights, 0.0)
            mapped_docs, mapped_queries = candidate.claims(docs), candidate.posts(query_vectors[check])
            for k, w in enumerate(BLEND_WEIGHTS):
                table[epoch, k] += share * held_out_map5(mapped_queries, mapped_docs, lex, rel, w)
    best_epoch, best_weight = np.unravel_index(int(np.argmax(table)), table.shape)
    epochs, weight = int(best_epoch) + 1, BLEND_WEIGHTS[int(best_weight)]
    *_, (post_weights, claim_weights) = fit_map(query_vectors, [sorted(rel) for _, rel in queries], docs, seed, epochs)
    metrics = {"cross-validated MAP@5": float(table.max()), "cross-validated MAP@5 without the map": plain}
    claim_map = ClaimMap(
        post_weights,
        claim_weights,
        weight,
        {
            "recipe": RECIPE,
            "seed": seed,
            "embedding": embedder.version,
            "trained on": f"CheckThat! 2020 task 2 train: {len(queries)} tweets; {len(docs)} fact-checks",
            "epochs": epochs,
            "metrics": {k: round(v, 4) for k, v in metrics.items()},
        },
    )
    claim_map.save(out)
    summary = {**metrics, "epochs": epochs, "blend weight": weight}
    return claim_map, {**summary, **saved(out, len(docs) + len(queries), claim_map.version, started)}
