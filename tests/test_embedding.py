"""The shared encoder's batching and precision: results do not depend on which texts share a
batch, and bf16 (the default where the processor has it) stays within rounding of fp32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.config import Config, ConfigError
from model.embedding import Embedder, resolve_precision
from moderation.scoring import ScorerError

TEXTS = [
    "short",
    "a longer sentence, with punctuation and several more words than the first one has",
    "you are a complete idiot",
    "ünïcödé and emoji 🎉",
    "",
    "the weather is lovely today " * 12,
]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))


def test_a_texts_embedding_does_not_depend_on_its_batch(embedder) -> None:  # type: ignore[no-untyped-def]
    """Batches are cut by token count and padded; padding must not leak into any text's vector."""
    together = np.asarray(embedder.embed(TEXTS))
    alone = np.asarray([embedder.embed([t])[0] for t in TEXTS])
    assert np.allclose(together, alone, atol=1e-5)
    assert embedder.embed([]) == []


def test_bf16_stays_within_rounding_of_fp32_and_leaves_the_heads_layers_alone(head_embedder, shipped_head) -> None:  # type: ignore[no-untyped-def]
    import torch

    half = Embedder(branch=shipped_head.branch, precision="bf16")
    assert half.precision == "bf16" and half.label == "all-MiniLM-L6-v2+bf16"
    assert head_embedder.label == "all-MiniLM-L6-v2"
    full, full_branch = head_embedder.encode(TEXTS)
    ours, our_branch = half.encode(TEXTS)
    assert full_branch is not None and our_branch is not None
    assert _cosines(np.asarray(full), np.asarray(ours)).min() > 0.999
    assert _cosines(np.asarray(full_branch), np.asarray(our_branch)).min() > 0.999
    # the head's own copy of its layers is still fp32: an fp32 embedder built on it still works
    assert all(p.dtype == torch.float32 for p in shipped_head.branch.parameters())
    assert np.allclose(head_embedder.encode(TEXTS[:2])[0], full[:2], atol=1e-6)


def test_precision_choice() -> None:
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", "cuda:0") == "fp32"
    assert resolve_precision("auto", "cpu") in ("fp32", "bf16")
    assert Config.model_validate({}).scorers.embedding.precision == "auto"
    with pytest.raises((ConfigError, ValueError), match="precision"):
        Config.model_validate({"scorers": {"embedding": {"precision": "int8"}}})


def test_token_states_are_the_word_pieces_last_layer(embedder) -> None:  # type: ignore[no-untyped-def]
    import torch

    texts = ["hello world", "a much longer sentence about fact checks and vaccines"]
    states = embedder.token_states(texts)
    for text, state in zip(texts, states, strict=True):
        ids = embedder._tokenizer(text)["input_ids"]
        assert state.ids.tolist() == ids[1:-1]  # without [CLS] and [SEP]
        assert state.vectors.shape == (len(ids) - 2, embedder.dimension)
        assert np.allclose(np.linalg.norm(state.vectors.astype(np.float32), axis=1), 1.0, atol=1e-2)
        with torch.inference_mode():
            last = embedder.bert(**embedder._tokenizer(text, return_tensors="pt")).last_hidden_state[0, 1:-1]
        expected = torch.nn.functional.normalize(last, dim=-1).numpy()
        assert np.allclose(state.vectors.astype(np.float32), expected, atol=2e-3)  # half precision


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ({}, "not a sentence-transformers model folder"),
        ({"modules.json": "not json"}, "not a sentence-transformers model folder"),
        (
            {
                "modules.json": '[{"path": "", "type": "sentence_transformers.models.Transformer"},'
                ' {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]',
                "1_Pooling/config.json": '{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}',
            },
            "mean pooling",
        ),
        (
            {
                "modules.json": '[{"path": "", "type": "sentence_transformers.models.Transformer"},'
                ' {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]',
                "1_Pooling/config.json": '{"pooling_mode_mean_tokens": true}',
            },
            "cannot load the embedding model",
        ),
    ],
)
def test_a_model_folder_it_cannot_run_is_named_with_why(tmp_path: Path, files: dict[str, str], said: str) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    with pytest.raises(ScorerError, match=said):
        Embedder(tmp_path)
