"""Reply model speed: load time (cold: GGUF conversion; cached), time to a 60-token draft, decode
tokens/s, and a batch of four drafts as the drafting worker runs them.
Usage: .venv/bin/python bench/draft_speed.py [--cache DIR]"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from model.drafter import generate, load_causal_lm

PROMPT = [
    {"role": "system", "content": "You are a friendly community assistant. Answer briefly."},
    {"role": "user", "content": "The FAQ says the meetup starts at 3pm in the library. When and where is it?"},
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    cache = args.cache or Path(tempfile.mkdtemp(prefix="modbot-draft-bench-"))
    try:
        cold = load_causal_lm(None, cache)
        warm = load_causal_lm(None, cache)
        generate(warm, [PROMPT], max_new_tokens=4)  # warm-up
        started = time.perf_counter()
        [draft] = generate(warm, [PROMPT], max_new_tokens=60)
        total = time.perf_counter() - started
        [short] = generate(warm, [PROMPT], max_new_tokens=1)
        decode = (draft.new_tokens - 1) / max(total - short.seconds, 1e-9)
        print(f"model {warm.version}")
        print(
            f"  load: cold {cold.load_seconds:.1f} s{' (was cached)' if cold.from_cache else ''}, "
            f"cached {warm.load_seconds:.1f} s"
        )
        print(
            f"  {draft.new_tokens}-token draft: {total:.2f} s; first token {short.seconds:.2f} s; "
            f"decode {decode:.1f} tokens/s"
        )
        batch = generate(warm, [PROMPT] * 4, max_new_tokens=60)
        tokens = sum(g.new_tokens for g in batch)
        print(f"  batch of 4: {tokens} tokens in {batch[0].seconds:.2f} s = {tokens / batch[0].seconds:.1f} tokens/s")
    finally:
        if args.cache is None:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
