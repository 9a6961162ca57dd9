"""The detoxify scorer: the real `detoxify.Detoxify` class, never downloading unless told to.

A moderator's machine may be air-gapped and user content must never leave it, so by default a
missing checkpoint is an error that says how to supply one, not a silent download.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from moderation.scoring import ScorerError, ScoreResult, ScoringInput
from moderation.types import RENAMED

MODEL_TYPES = ("original", "unbiased", "multilingual", "original-small", "unbiased-small")


class DetoxifyScorer:
    name = "detoxify"
    needs_embedding = False

    def __init__(
        self,
        model_type: str = "original",
        checkpoint: Path | None = None,
        huggingface_config_path: Path | None = None,
        device: str = "cpu",
        download: bool = False,
        batch_size: int = 16,
    ) -> None:
        if model_type not in MODEL_TYPES:
            raise ScorerError(f"detoxify model_type {model_type!r} is not one of {', '.join(MODEL_TYPES)}")
        import torch
        from detoxify import Detoxify
        from detoxify.detoxify import MODEL_URLS

        self._torch = torch
        self._batch_size = batch_size
        source: Any
        if checkpoint is not None:
            if not checkpoint.is_file():
                raise ScorerError(f"detoxify checkpoint {checkpoint} does not exist")
            source, tag = self._local_checkpoint(checkpoint, huggingface_config_path), _file_digest(checkpoint)
        else:
            url = MODEL_URLS[model_type]
            cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
            if not cached.is_file() and not download:
                raise ScorerError(
                    f"detoxify '{model_type}' weights are not on this machine ({cached} is missing) and "
                    "downloading is off. Either fetch them on a connected machine from "
                    f'{url} and set [scorers.detoxify] checkpoint = "/path/to/file.ckpt" together '
                    "with huggingface_config_path = a folder holding the matching transformers config "
                    "and tokenizer (e.g. bert-base-uncased for 'original'), or set download = true."
                )
            source, tag = None, url.rsplit("/", 1)[-1]
        try:
            self._detoxify = Detoxify(
                model_type=model_type,
                checkpoint=source,
                device=device,
                huggingface_config_path=str(huggingface_config_path) if huggingface_config_path else None,
            )
        except ScorerError:
            raise
        except Exception as exc:  # detoxify/transformers raise many kinds; name the cause
            raise ScorerError(f"detoxify could not load {model_type!r} ({type(exc).__name__}: {exc})") from exc
        self._names = tuple(self._detoxify.class_names)
        self.categories = tuple(dict.fromkeys(RENAMED.get(c, c) for c in self._names))
        """detoxify's own names mapped onto modbot's (severe_toxicity folds into toxicity by max)."""
        self.version = f"detoxify-{version('detoxify')}:{model_type}:{tag}"

    def _local_checkpoint(self, checkpoint: Path, config_dir: Path | None) -> Any:
        """Point the checkpoint's architecture at the local config folder.

        detoxify builds the model config from the hub id recorded in the checkpoint even when a
        local config folder is given; rewriting that id (in memory) keeps the load fully offline."""
        if config_dir is None:
            return str(checkpoint)
        if not config_dir.is_dir():
            raise ScorerError(f"detoxify huggingface_config_path {config_dir} is not a folder")
        loaded = self._torch.load(checkpoint, map_location="cpu", weights_only=False)
        try:
            loaded["config"]["arch"]["args"]["model_type"] = str(config_dir)
        except (KeyError, TypeError) as exc:
            raise ScorerError(f"{checkpoint} is not a detoxify checkpoint (no config.arch.args)") from exc
        buffer = io.BytesIO()
        self._torch.save(loaded, buffer)
        buffer.seek(0)
        return buffer

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        # Sorting by length keeps padding, and so wasted compute, small.
        order = sorted(range(len(batch)), key=lambda i: len(batch[i].text))
        out: list[ScoreResult | None] = [None] * len(batch)
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            raw = self._detoxify.predict([batch[i].text for i in chunk])
            for j, i in enumerate(chunk):
                values: dict[str, float] = {}
                for name in self._names:
                    value = float(raw[name] if isinstance(raw[name], float) else raw[name][j])
                    category = RENAMED.get(name, name)
                    values[category] = max(value, values.get(category, 0.0))
                out[i] = ScoreResult(values)
        return [r for r in out if r is not None]


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]
