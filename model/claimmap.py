"""A linear map that adapts the shared sentence embedding to fact-check matching.

all-MiniLM-L6-v2 was trained for general similarity: a tweet sits as close to every fact-check on
its topic as to the one that verifies its claim. A square map, fitted on tweets paired with the
fact-checks that verify them (in-batch and mined hard negatives), pulls the verifying one closer.
Fine-tuning the encoder's top two layers for the same task measured no better on CheckThat! dev
(MAP@5 0.851-0.868 against this map's 0.866-0.870), and would have cost two transformer layers a
post; the map costs one 384x384 product. Fact-checks are stored with their plain embeddings and
the map is applied when the index is built, so a new map needs no re-import.
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
from moderation.scoring import ScorerError

SHIPPED = "claims-map.npz"
_SCALE = 20.0  # similarity scale of the contrastive loss (sentence-transformers' default)
_PULL = 1e-3  # keeps the map near the identity: 800 pairs cannot re-learn a 384-d space


@dataclass
class ClaimMap:
    weights: NDArray[np.float32]
    """(d, d): a post's or fact-check's embedding times this, renormalised"""
    blend_weight: float
    """BM25's weight in the hybrid search, chosen with the map"""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "claims-map"))

    def apply(self, vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        mapped = np.asarray(vectors, dtype=np.float32) @ self.weights
        norms = np.linalg.norm(mapped, axis=-1, keepdims=True)
        out: NDArray[np.float32] = (mapped / np.maximum(norms, 1e-9)).astype(np.float32)
        return out

    def save(self, path: Path) -> None:
        digest = hashlib.sha256(self.weights.tobytes()).hexdigest()[:10]
        self.meta["version"] = f"claims-map-{digest}"
        save_arrays(path, {"weights": self.weights}, {**self.meta, "blend_weight": self.blend_weight})

    @classmethod
    def load(cls, path: Path | None = None) -> ClaimMap:
        try:
            with load_arrays(path, SHIPPED) as data:
                meta = read_meta(data)
                weights = np.asarray(data["weights"], dtype=np.float32)
                if weights.ndim != 2 or weights.shape[0] != weights.shape[1]:
                    raise ValueError(f"weights of shape {weights.shape} are not a square map")
                return cls(weights, float(meta.pop("blend_weight")), meta)
        except (OSError, ValueError, KeyError, EOFError, TypeError) as exc:
            raise ScorerError(f"cannot load the fact-check map {path or SHIPPED}: {exc}") from exc


def fit_map(
    queries: NDArray[np.float32],
    relevant: Sequence[Sequence[int]],
    docs: NDArray[np.float32],
    seed: int,
    epochs: int,
    lr: float = 1e-3,
    batch: int = 32,
    hard: int = 3,
) -> Iterator[NDArray[np.float32]]:
    """The map after each epoch. Each query's loss is a softmax over its batch's fact-checks plus
    `hard` near misses mined with the map as it stands at the epoch's start; another query's
    fact-check that is also relevant to this one is not counted as a miss."""
    import torch
    from torch.nn import functional

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    q, d = torch.as_tensor(queries), torch.as_tensor(docs)
    eye = torch.eye(q.shape[1])
    w = torch.nn.Parameter(eye.clone())
    optimiser = torch.optim.Adam([w], lr=lr)
    pairs = [(i, doc) for i, docs_i in enumerate(relevant) for doc in sorted(docs_i)]
    relevant_sets = [set(r) for r in relevant]
    for _ in range(epochs):
        with torch.no_grad():
            mapped_d = functional.normalize(d @ w, dim=1)
            similarity = functional.normalize(q @ w, dim=1) @ mapped_d.T
            near = torch.topk(similarity, min(hard + 8, len(d)), dim=1).indices.tolist()
        misses = [[j for j in row if j not in relevant_sets[i]][:hard] for i, row in enumerate(near)]
        order = rng.permutation(len(pairs))
        for start in range(0, len(order), batch):
            members = [pairs[k] for k in order[start : start + batch]]
            rows = [i for i, _ in members]
            columns = [doc for _, doc in members] + [j for i in rows for j in misses[i]]
            logits = _SCALE * functional.normalize(q[rows] @ w, dim=1) @ functional.normalize(d[columns] @ w, dim=1).T
            also = torch.tensor(
                [[c != r and doc in relevant_sets[i] for c, doc in enumerate(columns)] for r, i in enumerate(rows)]
            )
            pull: torch.Tensor = _PULL * ((w - eye) ** 2).sum()
            loss = functional.cross_entropy(logits.masked_fill(also, -1e4), torch.arange(len(rows))) + pull
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            optimiser.step()
        yield w.detach().numpy().astype(np.float32).copy()
