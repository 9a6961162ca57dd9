"""Soak: resident memory and posts per second of the Decider over a long run of one busy community.

Posts arrive on a simulated clock (`--rate` posts a second, 20 by default, received times advancing with it) from
5,000 authors, a tenth of them near-duplicate spam, through the same Decider the service runs
(wiring.decider_from; no database: the store's memory does not grow with volume, the spam
counters' did). Every `--every` posts it prints resident memory and the rate over that stretch;
the last line compares the end with the first stretch (the acceptance: memory within 1.5x of the
first 50,000 posts', rate within 20 %). `--stack rules` (default) is profanity and the spam rules,
so that 500,000 posts take minutes; `--stack default` adds the abuse and spam-text models.

Usage: .venv/bin/python bench/spam_soak.py [--posts 500000] [--every 50000] [--rate 200] [--stack rules|default]
"""

from __future__ import annotations

import argparse
import platform
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.config import Config  # noqa: E402
from bot.runtime import wiring  # noqa: E402
from moderation.types import Author, Post  # noqa: E402

WORDS = [
    "the",
    "a",
    "garden",
    "river",
    "match",
    "game",
    "council",
    "road",
    "school",
    "music",
    "film",
    "coffee",
    "rain",
    "bus",
    "dog",
    "weekend",
]
SPAM = "claim your free followers now at the link in my profile before the giveaway ends"


def cpu_flags() -> str:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"
    have = set(flags.split(":", 1)[1].split())
    return ", ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f in have) or "none of avx2/avx512"


def rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def posts(first: int, n: int, rate: float) -> list[Post]:
    """Posts `first` to `first + n` of the run, the i-th received i / rate seconds in."""
    rng = random.Random(first)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    out = []
    for i in range(first, first + n):
        at = start + timedelta(seconds=i / rate)
        spam = rng.random() < 0.1
        text = f"{SPAM} {rng.randrange(50)}" if spam else " ".join(rng.choices(WORDS, k=rng.randint(6, 20)))
        author = Author(f"u{rng.randrange(5000)}")
        out.append(Post("bench", "busy", "general", f"p{i}", author, text, at, received_at=at))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=500_000)
    parser.add_argument("--every", type=int, default=50_000)
    parser.add_argument(
        "--rate", type=float, default=20.0, help="simulated arrivals a second (20: 1.7 million posts a day)"
    )
    parser.add_argument("--batch", type=int, default=Config().pipeline.batch_size)
    parser.add_argument("--stack", choices=("rules", "default"), default="rules")
    args = parser.parse_args()
    off = {"head": {"enabled": False}, "spam_text": {"enabled": False}} if args.stack == "rules" else {}
    config = Config.model_validate({"scorers": off})
    decider = wiring.filter_stack(config).decider
    print(f"cpu: {cpu_flags()}; stack {args.stack}: {', '.join(decider.versions)}")
    stretches: list[tuple[float, float]] = []
    for start in range(0, args.posts, args.every):
        chunk = posts(start, min(args.every, args.posts - start), args.rate)
        began = time.perf_counter()
        for i in range(0, len(chunk), args.batch):
            decider.decide(chunk[i : i + args.batch])
        rate = len(chunk) / (time.perf_counter() - began)
        stretches.append((rss_mb(), rate))
        print(f"{start + len(chunk):>8} posts: {stretches[-1][0]:7.0f} MB resident, {rate:7.0f} posts/s")
    (first_mb, first_rate), (last_mb, last_rate) = stretches[0], stretches[-1]
    growth, change = last_mb / first_mb, last_rate / first_rate - 1
    print(f"end vs first stretch: memory x{growth:.2f} (goal <= 1.5), rate {change:+.0%} (goal within 20 %)")


if __name__ == "__main__":
    main()
