"""Reply model speed, transformers against CTranslate2 in one run: load time (cold: GGUF conversion
and CTranslate2 conversion; cached), time to a 60-token draft, first token, decode tokens/s, a
batch of four drafts as the drafting worker runs them, and each runtime's answer to the same
prompt (the CPU flags are printed: AVX-512 and AVX2 machines differ).
Usage: .venv/bin/python bench/draft_speed.py [--cache DIR] [--rounds N]"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from model import fast_decode
from model.drafter import generate, load_causal_lm

PROMPT = [
    {"role": "system", "content": "You are a friendly community assistant. Answer briefly."},
    {"role": "user", "content": "The FAQ says the meetup starts at 3pm in the library. When and where is it?"},
]
Run = Callable[[Sequence[Sequence[dict[str, str]]], int], list[tuple[str, int, float]]]


def cpu_flags() -> str:
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_int8")
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    flags = set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))
    return " ".join(f for f in wanted if f in flags) or "unknown"


def measure(name: str, run: Run, rounds: int) -> None:
    run([PROMPT], 4)  # warm-up
    best = min(_timed(run, 60) for _ in range(rounds))
    text, tokens, total = best
    first = min(run([PROMPT], 1)[0][2] for _ in range(rounds))
    decode = (tokens - 1) / max(total - first, 1e-9)
    print(f"{name}: {tokens}-token draft {total:.2f} s; first token {first:.2f} s; decode {decode:.1f} tokens/s")
    batch = run([PROMPT] * 4, 60)
    done = sum(n for _, n, _ in batch)
    print(f"  batch of 4: {done} tokens in {batch[0][2]:.2f} s = {done / batch[0][2]:.1f} tokens/s")
    print(f"  answer: {text!r}")


def _timed(run: Run, max_new_tokens: int) -> tuple[str, int, float]:
    [result] = run([PROMPT], max_new_tokens)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cache = args.cache or Path(tempfile.mkdtemp(prefix="modbot-draft-bench-"))
    print(f"CPU flags: {cpu_flags()}")
    try:
        cold = load_causal_lm(None, cache)
        warm = load_causal_lm(None, cache)
        print(f"model {warm.version}")
        print(f"  transformers load: cold {cold.load_seconds:.1f} s{' (was cached)' if cold.from_cache else ''}, "
              f"cached {warm.load_seconds:.1f} s")  # fmt: skip

        def hf(conversations: Sequence[Sequence[dict[str, str]]], n: int) -> list[tuple[str, int, float]]:
            return [(g.text, g.new_tokens, g.seconds) for g in generate(warm, conversations, n)]

        measure("transformers fp32", hf, args.rounds)
        if not fast_decode.installed():
            print("CTranslate2 is not installed: pip install ctranslate2")
            return
        assert warm.folder is not None
        started = time.perf_counter()
        folder = fast_decode.converted(warm.folder, cache)
        print(f"  CTranslate2 conversion: {time.perf_counter() - started:.1f} s")
        for compute in ("float32", "int8"):
            started = time.perf_counter()
            fast = fast_decode.FastModel(folder, warm.tokenizer, None, compute)
            print(f"  CTranslate2 {compute} load: {time.perf_counter() - started:.2f} s")
            measure(f"CTranslate2 {compute}", lambda c, n, f=fast: f.generate(c, n, None), args.rounds)
    finally:
        if args.cache is None:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
