"""Classifier heads on the shared sentence embedding: the offline toxicity scorer.

A head is a multi-label logistic regression on the 384-dimensional all-MiniLM-L6-v2 embedding:
cheap (one matrix product per batch, the embedding is computed once per post anyway), small
(kilobytes, shipped inside the package) and retrainable from public data with `modbot train`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from moderation.scoring import ScorerError, ScoreResult, ScoringInput

SHIPPED = "toxicity-head.json"


@dataclass
class Head:
    categories: list[str]
    weights: NDArray[np.float32]  # (dimension, categories)
    bias: NDArray[np.float32]  # (categories,)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        digest = hashlib.sha256(self.weights.tobytes() + self.bias.tobytes()).hexdigest()[:10]
        return f"{self.meta.get('name', 'head')}-{digest}"

    def predict(self, embeddings: NDArray[np.float32]) -> NDArray[np.float32]:
        logits = embeddings @ self.weights + self.bias
        probs: NDArray[np.float32] = (1.0 / (1.0 + np.exp(-np.clip(logits, -40, 40)))).astype(np.float32)
        return probs

    def save(self, path: Path) -> None:
        """JSON, so the shipped artifact is reviewable text and loads without pickle."""
        path.write_text(
            json.dumps(
                {
                    "categories": self.categories,
                    "weights": self.weights.tolist(),
                    "bias": self.bias.tolist(),
                    "meta": self.meta,
                }
            )
            + "\n",
            encoding="utf-8",
        )

    @classmethod
    def load(cls, path: Path | None = None) -> Head:
        try:
            text = (
                path.read_text(encoding="utf-8")
                if path is not None
                else resources.files("model").joinpath("artifacts", SHIPPED).read_text(encoding="utf-8")
            )
            data = json.loads(text)
            return cls(
                list(data["categories"]),
                np.asarray(data["weights"], dtype=np.float32),
                np.asarray(data["bias"], dtype=np.float32),
                dict(data.get("meta", {})),
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ScorerError(f"cannot load the classifier head {path or SHIPPED}: {exc}") from exc


class HeadScorer:
    """Scores posts with a head; the pipeline hands it each post's embedding."""

    name = "head"
    needs_embedding = True

    def __init__(self, head: Head) -> None:
        self.head = head
        self.categories = tuple(head.categories)
        self.version = head.version

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        if not batch:
            return []
        missing = [i for i, item in enumerate(batch) if item.embedding is None]
        if missing:
            raise ScorerError(f"head scorer got {len(missing)} inputs without an embedding")
        probs = self.head.predict(np.asarray([item.embedding for item in batch], dtype=np.float32))
        return [ScoreResult({c: float(p) for c, p in zip(self.categories, row, strict=True)}) for row in probs]


def train_head(
    x: NDArray[np.float32],
    y: NDArray[np.float32],
    categories: list[str],
    seed: int,
    epochs: int = 400,
    lr: float = 0.05,
    weight_decay: float = 1e-4,
    sample_weight: NDArray[np.float32] | None = None,
) -> Head:
    """Multi-label logistic regression by full-batch gradient descent (Adam) in torch; deterministic
    for a given seed. Positive classes are weighted by their rarity so rare categories still learn."""
    import torch

    torch.manual_seed(seed)
    xs = torch.as_tensor(x, dtype=torch.float32)
    ys = torch.as_tensor(y, dtype=torch.float32)
    sw = torch.ones(len(xs)) if sample_weight is None else torch.as_tensor(sample_weight, dtype=torch.float32)
    pos = ys.mean(0).clamp(1e-3, 1 - 1e-3)
    pos_weight = ((1 - pos) / pos).sqrt()
    w = torch.zeros(x.shape[1], len(categories), requires_grad=True)
    b = torch.zeros(len(categories), requires_grad=True)
    optimiser = torch.optim.Adam([w, b], lr=lr, weight_decay=weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = (loss_fn(xs @ w + b, ys).mean(1) * sw).sum() / sw.sum()
        loss.backward()
        optimiser.step()
    return Head(categories, w.detach().numpy().astype(np.float32), b.detach().numpy().astype(np.float32))
