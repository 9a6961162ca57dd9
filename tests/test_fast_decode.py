"""The reply model's CTranslate2 path (model/fast_decode.py) on a tiny checkpoint built here: a
two-layer Llama with random weights and a word-level tokenizer with a chat template, so the loader,
the conversion cache, greedy decoding and the time limit are exercised without the bundled
model. Plain greedy decoding on the same float32 weights must match transformers token for token."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model import fast_decode
from model.drafter import LocalGenerator, load_causal_lm
from moderation.drafting import build_prompt
from moderation.scoring import ScorerError

pytestmark = pytest.mark.skipif(not fast_decode.installed(), reason="ctranslate2 is not installed")
WORDS = "the swap is on saturday at ten in hall when where member wrote answer facts above a reply data"
TEMPLATE = "{% for m in messages %}<|im_start|>{{ m['role'] }} {{ m['content'] }}<|im_end|> {% endfor %}<|im_start|>"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    specials = ["<unk>", "<|im_start|>", "<|im_end|>"]
    vocab = {w: i for i, w in enumerate([*specials, *WORDS.split(), "system", "user", "assistant"])}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw, unk_token="<unk>", bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<unk>"
    )
    tok.chat_template = TEMPLATE
    tok.save_pretrained(folder)
    torch.manual_seed(7)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def _conversation(question: str) -> tuple[dict[str, str], ...]:
    return build_prompt("a reply", "answer", question, []).messages


def test_ctranslate2_decodes_like_transformers_and_caches_its_conversion(tiny: Path, tmp_path: Path) -> None:
    cache = tmp_path / "models"
    cache.mkdir()
    fast = LocalGenerator(str(tiny), cache, runtime="ctranslate2")
    assert fast.version.endswith("+ct2-float32") and fast.fast is not None
    assert fast.loaded.model is None  # the torch copy was let go
    converted = cache / f"{tiny.name}{fast_decode.SUFFIX}"
    assert (converted / "model.bin").is_file() and not (cache / f"{tiny.name}{fast_decode.SUFFIX}.partial").exists()
    stamp = (converted / "model.bin").stat().st_mtime_ns
    reference = load_causal_lm(str(tiny), cache)
    tok = reference.tokenizer
    for question in ("when is the swap", "where is the hall", "a member wrote facts"):
        conversation = _conversation(question)
        prompt = tok.apply_chat_template(list(conversation), add_generation_prompt=True, tokenize=False)
        ids = tok(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.inference_mode():  # plain greedy: the two runtimes' penalties reach differently
            expected = reference.model.generate(ids, max_new_tokens=8, do_sample=False)[0][ids.shape[1] :]
        [(text, tokens, _)] = fast.fast.generate([conversation], 8, None, repetition_penalty=1.0)
        assert text == tok.decode(expected, skip_special_tokens=True).strip() and tokens == len(expected)
    LocalGenerator(str(tiny), cache, runtime="ctranslate2")
    assert (converted / "model.bin").stat().st_mtime_ns == stamp  # converted once


def test_a_batch_stops_at_its_time_limit(tiny: Path, tmp_path: Path) -> None:
    fast = LocalGenerator(str(tiny), tmp_path, runtime="ctranslate2")
    assert fast.fast is not None
    [(_, stopped, _)] = fast.fast.generate([_conversation("when is the swap")], 200, 1e-9)
    assert stopped <= 2


def test_runtime_choices_and_their_errors(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert LocalGenerator(str(tiny), tmp_path, runtime="transformers").fast is None
    assert LocalGenerator(str(tiny), tmp_path, runtime="auto").fast is not None
    (tmp_path / "broken").mkdir()
    with pytest.raises(ScorerError, match="cannot convert"):
        fast_decode.converted(tmp_path / "broken", tmp_path)
    with pytest.raises(ScorerError, match="cannot load"):
        fast_decode.FastModel(tmp_path / "broken", None, None, "float32")
    from dataclasses import replace

    from model import drafter

    loaded = load_causal_lm(str(tiny), tmp_path)
    monkeypatch.setattr(drafter, "load_causal_lm", lambda *args: replace(loaded, folder=None))  # as a hub id loads
    assert LocalGenerator("some/hub-id", tmp_path, runtime="auto").fast is None  # falls back
    with pytest.raises(ScorerError, match="hub id"):
        LocalGenerator("some/hub-id", tmp_path, runtime="ctranslate2")
    monkeypatch.setattr(fast_decode, "installed", lambda: False)
    assert LocalGenerator(str(tiny), tmp_path, runtime="auto").fast is None  # falls back
    with pytest.raises(ScorerError, match="not installed"):
        LocalGenerator(str(tiny), tmp_path, runtime="ctranslate2")
