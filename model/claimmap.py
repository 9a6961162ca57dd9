"""Linear maps that adapt the shared sentence embedding to fact-check matching.

all-MiniLM-L6-v2 was trained for general similarity: a tweet sits as close to every fact-check on
its topic as to the one that verifies its claim. Two square maps, one for posts and one for
fact-checks, fitted on tweets paired with the fact-checks that verify them (in-batch and mined
hard negatives), pull the verifying one closer. Fine-tuning the encoder's top two layers for the
same task measured no better on CheckThat! dev (MAP@5 0.851-0.868 against 0.873 for one shared
map) and would have cost two transformer layers a post; a map costs one 384x384 product.
Fact-checks are stored with their plain embeddings and mapped when the index is built, so a new
map needs no re-import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.ngrams import load_arrays, read_meta, save_arrays
from moderation.rerank import FEATURES
from moderation.scoring import ScorerError

SHIPPED = "claims-map.npz"
_SCALE = 20.0  # similarity scale of the contrastive loss (sentence-transformers' default)
_PULL = 1e-3  # keeps the maps near the identity: 800 pairs cannot re-learn a 384-d space


@dataclass
class ClaimMap:
    post_weights: NDArray[np.float32]
    """(d, d): a post's embedding times this, renormalised"""
    claim_weights: NDArray[np.float32]
    """(d, d): the same for a fact-check; tweets and fact-checks are different kinds of text, and
    a map per side measured better than one shared (cross-validated MAP@5 0.899 against 0.890)"""
    blend_weight: float
    """BM25's weight in the hybrid search, chosen with the map"""
    meta: dict[str, Any] = field(default_factory=dict)
    rerank_weights: NDArray[np.float32] | None = None
    """(len(moderation.rerank.FEATURES),): the second-stage re-ranker fitted with the maps; None in
    maps made before it (the index then keeps the first stage's order)"""

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "claims-map"))

    @property
    def width(self) -> int:
        return int(self.post_weights.shape[0])

    def posts(self, vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        return _mapped(vectors, self.post_weights)

    def claims(self, vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        return _mapped(vectors, self.claim_weights)

    def save(self, path: Path) -> None:
        arrays = {"post_weights": self.post_weights, "claim_weights": self.claim_weights}
        meta = {**self.meta, "blend_weight": self.blend_weight}
        if self.rerank_weights is not None:
            arrays["rerank_weights"] = self.rerank_weights.astype(np.float32)
            meta["rerank_features"] = list(FEATURES)
        digest = hashlib.sha256(b"".join(a.tobytes() for a in arrays.values())).hexdigest()[:10]
        self.meta["version"] = meta["version"] = f"claims-map-{digest}"
        save_arrays(path, arrays, meta)

    @classmethod
    def load(cls, path: Path | None = None) -> ClaimMap:
        try:
            with load_arrays(path, SHIPPED) as data:
                meta = read_meta(data)
                post = np.asarray(data["post_weights"], dtype=np.float32)
                claim = np.asarray(data["claim_weights"], dtype=np.float32)
                if post.ndim != 2 or post.shape[0] != post.shape[1] or claim.shape != post.shape:
                    raise ValueError(f"weights of shapes {post.shape} and {claim.shape} are not two square maps")
                rerank = None
                if "rerank_weights" in data.files:
                    if meta.pop("rerank_features", None) != list(FEATURES):
                        raise ValueError("its re-ranker was fitted on other features than this version computes")
                    rerank = np.asarray(data["rerank_weights"], dtype=np.float32)
                    if rerank.shape != (len(FEATURES),):
                        raise ValueError(f"re-ranker weights of shape {rerank.shape}, expected ({len(FEATURES)},)")
                return cls(post, claim, float(meta.pop("blend_weight")), meta, rerank)
        except (OSError, ValueError, KeyError, EOFError, TypeError) as exc:
            raise ScorerError(f"cannot load the fact-check map {path or SHIPPED}: {exc}") from exc


def _mapped(vectors: NDArray[np.float32], weights: NDArray[np.float32]) -> NDArray[np.float32]:
    mapped = np.asarray(vectors, dtype=np.float32) @ weights
    norms = np.linalg.norm(mapped, axis=-1, keepdims=True)
    out: NDArray[np.float32] = (mapped / np.maximum(norms, 1e-9)).astype(np.float32)
    return out


def fit_map(
    queries: NDArray[np.float32],
    relevant: Sequence[Sequence[int]],
    docs: NDArray[np.float32],
    seed: int,
    epochs: int,
    lr: float = 1e-3,
    batch: int = 32,
    hard: int = 3,
) -> Iterator[tuple[NDArray[np.float32], NDArray[np.float32]]]:
    """The (post, fact-check) maps after each epoch. Each query's loss is a softmax over its
    batch's fact-checks plus `hard` near misses mined with the maps as they stand at the epoch's
    start; another query's fact-check that is also relevant to this one is not counted as a miss."""
    import torch
    from torch.nn import functional

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    q, d = torch.as_tensor(queries), torch.as_tensor(docs)
    eye = torch.eye(q.shape[1])
    wq, wd = torch.nn.Parameter(eye.clone()), torch.nn.Parameter(eye.clone())
    optimiser = torch.optim.Adam([wq, wd], lr=lr)
    pairs = [(i, doc) for i, docs_i in enumerate(relevant) for doc in sorted(docs_i)]
    relevant_sets = [set(r) for r in relevant]
    for _ in range(epochs):
        with torch.no_grad():
            similarity = functional.normalize(q @ wq, dim=1) @ functional.normalize(d @ wd, dim=1).T
            near = torch.topk(similarity, min(hard + 8, len(d)), dim=1).indices.tolist()
        misses = [[j for j in row if j not in relevant_sets[i]][:hard] for i, row in enumerate(near)]
        order = rng.permutation(len(pairs))
        for start in range(0, len(order), batch):
            members = [pairs[k] for k in order[start : start + batch]]
            rows = [i for i, _ in members]
            columns = [doc for _, doc in members] + [j for i in rows for j in misses[i]]
            logits = _SCALE * functional.normalize(q[rows] @ wq, dim=1) @ functional.normalize(d[columns] @ wd, dim=1).T
            also = torch.tensor(
                [[c != r and doc in relevant_sets[i] for c, doc in enumerate(columns)] for r, i in enumerate(rows)]
            )
            pull: torch.Tensor = _PULL * (((wq - eye) ** 2).sum() + ((wd - eye) ** 2).sum())
            loss = functional.cross_entropy(logits.masked_fill(also, -1e4), torch.arange(len(rows))) + pull
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            optimiser.step()
        yield wq.detach().numpy().astype(np.float32).copy(), wd.detach().numpy().astype(np.float32).copy()
