"""`modbot eval claims`: fact-check matching measured as the service runs it (the index's hybrid
search, through the claim map and its re-ranker), beside the simpler methods it is built from."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.lab.evaluation import datasets
from bot.lab.evaluation.runner import Report

if TYPE_CHECKING:
    from model.claimmap import ClaimMap
    from model.claims import ClaimIndex, TokenEncoder

Embed = Callable[[Sequence[str]], list[list[float]]]
_K = 20


@dataclass(frozen=True, slots=True)
class _Indexes:
    """The shipped search and what it is compared with; None where the parts are missing."""

    plain: ClaimIndex
    mapped: ClaimIndex | None
    reranked: ClaimIndex | None

    @property
    def shipped(self) -> ClaimIndex:
        return self.reranked or self.mapped or self.plain


def claims(
    data: Path,
    embed: Embed,
    version: str,
    command: str,
    split: str = "dev",
    claim_map: ClaimMap | None = None,
    embed_claims: Embed | None = None,
    encoder: TokenEncoder | None = None,
) -> tuple[Report, dict[str, Callable[[Path], None]]]:
    """CheckThat! 2020 task 2 (`split` dev or train; or "coaid", CoAID's news headlines against
    its fact-checked claims, out of the map's domain): rank the fact-checks for each query;
    MAP@5, MRR, Recall@k for the index's own hybrid search (through `claim_map` when given, and
    re-ranked by its re-ranker when there is an `encoder`, every query as if past the gate), and
    for comparison the search before re-ranking, without the map, reciprocal-rank fusion, and the
    lexical and embedding halves alone. Fact-checks are embedded by `embed_claims` (as `modbot
    claims import` does; default `embed`), queries by `embed` (as the service does)."""
    from moderation.normalise import normalise

    started = time.perf_counter()
    task = datasets.coaid_retrieval(data) if split == "coaid" else datasets.checkthat(data, split)
    indexes = _indexes(
        task.claims, (embed_claims or embed)([normalise(t).text for _, t in task.claims]), claim_map, encoder
    )
    queries = [(q, normalise(t).text) for q, t in task.queries if q in task.relevant]
    rankings, top_matches = _rankings(indexes, queries, embed([t for _, t in queries]), task.relevant)
    relevant = [task.relevant[q] for q, _ in queries]
    rows = [_method_row(method, ranked, relevant) for method, ranked in rankings.items()]
    report = Report(
        "claims",
        command,
        {
            "embedding": version,
            "map": claim_map.version if claim_map else "none",
            "re-ranker": "yes" if indexes.reranked is not None else "none",
        },
    )
    report.figures = {
        "split": split,
        "queries": len(queries),
        "fact-checks": len(task.claims),
        "hybrid MAP@5": rows[0]["MAP@5"],
        "hybrid MRR": rows[0]["MRR"],
        "hybrid Recall@5": rows[0]["Recall@5"],
    }
    report.tables["retrieval methods"] = rows
    report.tables["best match by similarity threshold (hybrid)"] = [
        {
            "threshold": t,
            "queries at or above": sum(s >= t for s, _ in top_matches) / len(top_matches),
            "right fact-check among them": _share([right for s, right in top_matches if s >= t]),
        }
        for t in (0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8)
    ]
    report.seconds = time.perf_counter() - started
    return report, {"claims_recall.png": lambda p: _recall_plot(rankings, relevant, p)}


def _indexes(
    claims: Sequence[tuple[int, str]],
    vectors: list[list[float]],
    claim_map: ClaimMap | None,
    encoder: TokenEncoder | None,
) -> _Indexes:
    import numpy as np

    from model.claims import Claim, ClaimIndex

    matrix = np.asarray(vectors, dtype=np.float32)
    records = [Claim(i, t, "", "", "") for i, t in claims]
    if claim_map is None:
        return _Indexes(ClaimIndex(records, matrix), None, None)
    reranked = ClaimIndex(records, matrix, claim_map, encoder)
    return _Indexes(
        ClaimIndex(records, matrix),
        ClaimIndex(records, matrix, claim_map),
        reranked if reranked.reranker is not None else None,
    )


def _rankings(
    indexes: _Indexes,
    queries: list[tuple[str, str]],
    query_vectors: list[list[float]],
    relevant: dict[str, set[int]],
) -> tuple[dict[str, list[list[int]]], list[tuple[float, bool]]]:
    """Each method's first 20 fact-check ids per query, and the shipped search's best match per
    query (its similarity, and whether it is a right one)."""
    import numpy as np

    from moderation.retrieval import fuse

    plain, mapped, reranked = indexes.plain, indexes.mapped, indexes.reranked
    ids = [c.id for c in plain.claims]
    rankings: dict[str, list[list[int]]] = {"hybrid": []}
    if reranked is not None:
        rankings["hybrid before re-ranking"] = []
    if mapped is not None:
        rankings["hybrid without the map"] = []
    rankings.update({"reciprocal-rank fusion": [], "bm25": [], "embedding": []})
    top_matches: list[tuple[float, bool]] = []
    found_all = indexes.shipped.search_many([t for _, t in queries], query_vectors, k=_K)
    for (q, text_), vector, found in zip(queries, query_vectors, found_all, strict=True):
        rankings["hybrid"].append([m.claim.id for m in found])
        top_matches.append((found[0].similarity, found[0].claim.id in relevant[q]))
        if reranked is not None and mapped is not None:
            rankings["hybrid before re-ranking"].append([m.claim.id for m in mapped.search(text_, vector, k=_K)])
        if mapped is not None:
            rankings["hybrid without the map"].append([m.claim.id for m in plain.search(text_, vector, k=_K)])
        cosine = plain.embeddings @ np.asarray(vector, dtype=np.float32)
        lexical = plain.bm25.scores(text_)
        rankings["reciprocal-rank fusion"].append([ids[i] for i in fuse([cosine, lexical])[:_K]])
        rankings["bm25"].append([ids[int(i)] for i in np.argsort(-lexical, kind="stable")[:_K]])
        rankings["embedding"].append([ids[int(i)] for i in np.argsort(-cosine, kind="stable")[:_K]])
    return rankings, top_matches


def _method_row(method: str, ranked: list[list[int]], relevant: list[set[int]]) -> dict[str, object]:
    import numpy as np

    from moderation.retrieval import average_precision_at

    pairs = list(zip(ranked, relevant, strict=True))
    return {
        "method": method,
        "MAP@5": float(np.mean([average_precision_at(r, g, 5) for r, g in pairs])),
        "MRR": float(np.mean([next((1 / (i + 1) for i, d in enumerate(r) if d in g), 0.0) for r, g in pairs])),
        "Recall@1": _recall_at(ranked, relevant, 1),
        "Recall@5": _recall_at(ranked, relevant, 5),
    }


def _recall_at(ranked: list[list[int]], relevant: list[set[int]], k: int) -> float:
    """How often a relevant fact-check is among the first k."""
    return sum(bool(set(r[:k]) & g) for r, g in zip(ranked, relevant, strict=True)) / len(ranked)


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def _recall_plot(rankings: dict[str, list[list[int]]], relevant: list[set[int]], path: Path) -> None:
    """Recall@k for k = 1-20."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ks = range(1, 21)
    for method, ranked in rankings.items():
        ax.plot(list(ks), [_recall_at(ranked, relevant, k) for k in ks], label=method)
    ax.set_xlabel("k (fact-checks shown)")
    ax.set_ylabel("Recall@k")
    ax.set_xticks([1, 5, 10, 15, 20])
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
