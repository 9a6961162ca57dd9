"""Generation through CTranslate2, the reply model's fast path on CPU.

transformers decodes the bundled 135M model at 9-17 tokens/s here: every token is a chain of
small PyTorch ops. CTranslate2 runs the same weights as one fused C++ decoder, 28-33 tokens/s on
this 2-core AVX2 machine (bench/draft_speed.py). The model is converted once from the transformers
folder (the GGUF conversion's cache, or a local model folder) and the result is cached next to it,
like the GGUF conversion. Weights stay float32 unless `int8` is asked for: on AVX2 int8 was no
faster and changed the bundled model's answers. Without the package, transformers remains the
path (and the reference).
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from moderation.scoring import ScorerError

log = logging.getLogger(__name__)
SUFFIX = "-ct2"


def installed() -> bool:
    return importlib.util.find_spec("ctranslate2") is not None


def converted(folder: Path, cache_dir: Path) -> Path:
    """The CTranslate2 copy of a transformers model folder, converted on first use (~10 s for the
    bundled model) into a temporary folder and moved into place, so a crash leaves no half model."""
    import ctranslate2

    target = cache_dir / f"{folder.name}{SUFFIX}"
    if (target / "model.bin").is_file():
        return target
    partial = cache_dir / f"{folder.name}{SUFFIX}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    started = time.perf_counter()
    try:
        ctranslate2.converters.TransformersConverter(str(folder)).convert(str(partial), force=True)
    except Exception as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise ScorerError(f'CTranslate2 cannot convert {folder}: {exc} (set [reply] runtime = "transformers")') from exc
    partial.rename(target)
    log.info("converted %s for CTranslate2 in %.1f s", folder, time.perf_counter() - started)
    return target


class FastModel:
    """A CTranslate2 generator with the transformers tokenizer it was converted with."""

    def __init__(self, folder: Path, tokenizer: Any, threads: int | None, compute_type: str) -> None:
        import ctranslate2

        self.tokenizer = tokenizer
        try:
            self.generator = ctranslate2.Generator(
                str(folder), device="cpu", compute_type=compute_type, intra_threads=threads or 0
            )
        except (RuntimeError, ValueError) as exc:
            raise ScorerError(f"CTranslate2 cannot load {folder}: {exc}") from exc

    def generate(
        self,
        conversations: Sequence[Sequence[dict[str, str]]],
        max_new_tokens: int,
        max_seconds: float | None,
        repetition_penalty: float = 1.15,
    ) -> list[tuple[str, int, float]]:
        """Greedy; a batch that runs past `max_seconds` stops and keeps what it wrote. (text, new
        tokens, seconds) per conversation. The penalty has the transformers path's value but not
        its reach: CTranslate2 penalises the tokens generated so far, transformers the prompt's
        too, which pushes a small model away from repeating the facts it was given."""
        tok = self.tokenizer
        prompts = [tok.apply_chat_template(list(c), add_generation_prompt=True, tokenize=False) for c in conversations]
        tokens = [tok.convert_ids_to_tokens(tok(p, add_special_tokens=False)["input_ids"]) for p in prompts]
        started = time.perf_counter()
        deadline = started + max_seconds if max_seconds else None
        results = self.generator.generate_batch(
            tokens,
            max_length=max_new_tokens,
            sampling_topk=1,
            repetition_penalty=repetition_penalty,
            include_prompt_in_result=False,
            end_token=tok.eos_token,
            callback=(lambda _step: time.perf_counter() > deadline) if deadline else None,
        )
        seconds = time.perf_counter() - started
        out = []
        for result in results:
            ids = result.sequences_ids[0]
            out.append((tok.decode(ids, skip_special_tokens=True).strip(), len(ids), seconds))
        return out
