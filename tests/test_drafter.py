"""The offline reply model: converted from the packaged GGUF once, cached, reloaded fast, and
generating the same greedy text from the cache. Slow (the conversion takes ~30 s): CI runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.drafter import generate, load_causal_lm
from moderation.scoring import ScorerError

pytestmark = pytest.mark.slow

CONVERSATION = [
    {"role": "system", "content": "You answer questions about the community using the facts given."},
    {"role": "user", "content": "Fact: the meetup starts at 3pm in the library.\nQuestion: when is the meetup?"},
]


def test_gguf_is_converted_once_and_cached(tmp_path: Path) -> None:
    cold = load_causal_lm(None, tmp_path)
    assert not cold.from_cache and (tmp_path / "smollm2-135m-instruct" / "config.json").is_file()
    [first] = generate(cold, [CONVERSATION], max_new_tokens=24)
    assert first.new_tokens > 0 and first.text
    warm = load_causal_lm(None, tmp_path)
    assert warm.from_cache and warm.load_seconds < cold.load_seconds
    [again] = generate(warm, [CONVERSATION], max_new_tokens=24)
    assert again.text == first.text  # the cached weights are the converted ones


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScorerError, match="not available offline"):
        load_causal_lm(str(tmp_path / "no-such-model"), tmp_path)
