"""`modbot train claims`: the recipe behind the shipped fact-check map (model/claimmap.py).

Data: the CheckThat! 2020 task 2 training tweets, each with the Snopes fact-checks that verify it,
and the whole fact-check collection; the dev tweets are never seen (`modbot eval claims` scores
them). The epoch count and BM25's blend weight are the pair with the best MAP@5 over 5 folds of
the training tweets (each fold scored by maps fitted on the other four; folds drawn from the
seed); the shipped map is then fitted on every training tweet for that many epochs. Texts go
through the normaliser, as live posts and imported fact-checks do.

The re-ranker (moderation/rerank.py) is fitted on each training tweet's candidates as the maps of
the folds that did not see it rank them (as a live post meets maps that never saw it): a pairwise
logistic regression, its regularisation chosen by MAP@5 over the same folds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.lab.evaluation import datasets
from bot.lab.training import embed_cached, saved
from model.claimmap import ClaimMap, fit_map
from model.claims import Claim, ClaimIndex
from model.embedding import Embedder
from moderation import rerank
from moderation.normalise import normalise
from moderation.retrieval import BLEND_WEIGHT, BM25, average_precision_at, blend

RECIPE = "claims-map-recipe-3"
EPOCHS = 20
BLEND_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
FOLDS = 5
RERANK_C = (0.1, 1.0, 10.0)


class _Remembered:
    """The embedder's word pieces, each text encoded once across the folds."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.known: dict[str, rerank.TokenStates] = {}

    def token_states(self, texts: Sequence[str]) -> list[rerank.TokenStates]:
        todo = sorted({t for t in texts if t not in self.known})
        self.known.update(zip(todo, self.embedder.token_states(todo), strict=True))
        return [self.known[t] for t in texts]

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self.embedder.token_ids(texts)


def fit_reranker(
    rows: Sequence[NDArray[np.float32]], relevant: Sequence[Sequence[bool]], c: float
) -> NDArray[np.float32]:
    """Pairwise logistic regression on standardised features, returned as weights on the raw
    features (the scale folded in; a ranking needs no intercept)."""
    from sklearn.linear_model import LogisticRegression

    scale = np.vstack(rows).std(0)
    scale[scale == 0] = 1.0
    diffs, labels = rerank.pairwise_examples(rows, relevant)
    if len(set(labels.tolist())) < 2:
        return np.zeros(len(rerank.FEATURES), dtype=np.float32)
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=5000).fit(diffs / scale, labels)
    weights: NDArray[np.float32] = (model.coef_[0] / scale).astype(np.float32)
    return weights


def reranked_map5(
    weights: NDArray[np.float32],
    candidates: Sequence[tuple[list[int], NDArray[np.float32]]],
    relevant: Sequence[set[int]],
) -> float:
    return float(
        np.mean(
            [
                average_precision_at([ranked[j] for j in rerank.order(weights, rows)], rel, 5)
                for (ranked, rows), rel in zip(candidates, relevant, strict=True)
            ]
        )
    )


def _fit_reranker_on_folds(
    embedder: Embedder,
    doc_texts: list[str],
    docs: NDArray[np.float32],
    queries: list[tuple[str, set[int]]],
    query_vectors: NDArray[np.float32],
    folds: NDArray[np.int64],
    fold_maps: list[ClaimMap],
) -> tuple[NDArray[np.float32], float, dict[float, float]]:
    """The re-ranker's weights, its C and the cross-validated MAP@5 of every C tried: each
    training tweet's candidates and features come through the map of the fold that did not see it."""
    encoder = _Remembered(embedder)
    claims = [Claim(k, t, "", "", "") for k, t in enumerate(doc_texts)]
    candidates: list[tuple[list[int], NDArray[np.float32]]] = [([], np.zeros(0, np.float32))] * len(queries)
    for fold, fold_map in enumerate(fold_maps):
        check = np.flatnonzero(folds == fold)
        with_features = ClaimMap(
            fold_map.post_weights,
            fold_map.claim_weights,
            fold_map.blend_weight,
            rerank_weights=np.zeros(len(rerank.FEATURES), np.float32),
        )
        index = ClaimIndex(claims, docs, with_features, encoder, keep=len(claims))
        found = index.candidate_rows([queries[i][0] for i in check], query_vectors[check])
        for i, one in zip(check, found, strict=True):
            candidates[i] = one
    relevant = [rel for _, rel in queries]
    labels = [[doc in rel for doc in ranked] for (ranked, _), rel in zip(candidates, relevant, strict=True)]
    by_c = dict.fromkeys(RERANK_C, 0.0)
    for c in RERANK_C:
        for fold in range(len(fold_maps)):
            fit, check = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
            weights = fit_reranker([candidates[i][1] for i in fit], [labels[i] for i in fit], c)
            held_out = reranked_map5(weights, [candidates[i] for i in check], [relevant[i] for i in check])
            by_c[c] += len(check) / len(queries) * held_out
    best_c = max(RERANK_C, key=lambda c: by_c[c])
    return fit_reranker([rows for _, rows in candidates], labels, best_c), best_c, by_c


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
    fold_maps: list[list[tuple[NDArray[np.float32], NDArray[np.float32]]]] = []  # every epoch's: ~120 MB
    for fold in range(FOLDS):
        fit = np.flatnonzero(folds != fold)
        check = np.flatnonzero(folds == fold)
        share = len(check) / len(queries)
        lex, rel = [lexical[i] for i in check], [queries[i][1] for i in check]
        plain += share * held_out_map5(query_vectors[check], docs, lex, rel, BLEND_WEIGHT)
        fold_maps.append(list(fit_map(query_vectors[fit], [sorted(queries[i][1]) for i in fit], docs, seed, EPOCHS)))
        for epoch, (post_weights, claim_weights) in enumerate(fold_maps[-1]):
            candidate = ClaimMap(post_weights, claim_weights, 0.0)
            mapped_docs, mapped_queries = candidate.claims(docs), candidate.posts(query_vectors[check])
            for k, w in enumerate(BLEND_WEIGHTS):
                table[epoch, k] += share * held_out_map5(mapped_queries, mapped_docs, lex, rel, w)
    best_epoch, best_weight = np.unravel_index(int(np.argmax(table)), table.shape)
    epochs, weight = int(best_epoch) + 1, BLEND_WEIGHTS[int(best_weight)]
    *_, (post_weights, claim_weights) = fit_map(query_vectors, [sorted(rel) for _, rel in queries], docs, seed, epochs)
    fold_map_at = [ClaimMap(*maps[epochs - 1], weight) for maps in fold_maps]
    rerank_weights, best_c, by_c = _fit_reranker_on_folds(
        embedder, doc_texts, docs, queries, query_vectors, folds, fold_map_at
    )
    metrics = {
        "cross-validated MAP@5": float(table.max()),
        "cross-validated MAP@5 without the map": plain,
        "cross-validated MAP@5 with the re-ranker": by_c[best_c],
    }
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
            "re-ranker C": best_c,
            "metrics": {k: round(v, 4) for k, v in metrics.items()},
            # every setting tried and its cross-validated MAP@5, so a choice another processor
            # makes differently can be told apart as a near-tie or a real change
            "selection": {
                f"{e + 1} epochs, blend {w:g}": round(float(table[e, k]), 4)
                for e in range(EPOCHS)
                for k, w in enumerate(BLEND_WEIGHTS)
            },
            "re-ranker selection": {f"C {c:g}": round(v, 4) for c, v in by_c.items()},
        },
        rerank_weights,
    )
    claim_map.save(out)
    summary = {**metrics, "epochs": epochs, "blend weight": weight, "re-ranker C": best_c}
    return claim_map, {**summary, **saved(out, len(docs) + len(queries), claim_map.version, started)}
