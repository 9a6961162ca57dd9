"""Posts per second of `modbot scan` on 1,000 sample posts with the offline scorers.

Prints two figures: the whole command as a user runs it (start-up, migrations, model load, scan,
summary) and the steady-state rate once running (posts decided / time between first and last
decision). Usage: .venv/bin/python bench/scan_throughput.py [--posts N] [--runs R] [--config FILE]
(--config e.g. to enable the embedding head: every offline scorer at once).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent


def make_feed(path: Path, n: int) -> None:
    samples = [
        json.loads(line)["text"]
        for line in (REPO / "examples" / "sample-feed.jsonl").read_text().splitlines()
        if line.startswith("{") and line.endswith("}")
    ]
    rng = random.Random(7)
    fillers = ["honestly", "lol", "today", "again", "guys", "for real", "I think", "btw"]
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            text_ = rng.choice(samples)
            if rng.random() < 0.5:
                text_ = f"{rng.choice(fillers)} {text_} {rng.choice(fillers)}"
            f.write(
                json.dumps({"id": f"b{i}", "author": f"user{rng.randrange(200)}", "community": "bench", "text": text_})
                + "\n"
            )


def one_run(feed: Path, n: int, config: Path | None) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "MODBOT_DATA_DIR": data}
        env.pop("MODBOT_CONFIG", None)
        started = time.perf_counter()
        extra = ["--config", str(config)] if config else []
        subprocess.run(
            [sys.executable, "-m", "bot.cli", *extra, "scan", str(feed)], env=env, check=True, stdout=subprocess.DEVNULL
        )
        wall = time.perf_counter() - started
        engine = create_engine(f"sqlite:///{data}/modbot.db")
        with engine.connect() as conn:
            count, first, last = conn.execute(
                text("SELECT count(*), min(decided_at), max(decided_at) FROM decisions")
            ).one()
        engine.dispose()
        assert count == n, f"{count} decisions for {n} posts"
        span = (_ts(last) - _ts(first)) or 1e-9
        return n / wall, (n - 1) / span


def _ts(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--config", type=Path, default=None, help="modbot config (default: embedded defaults)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "bench.jsonl"
        make_feed(feed, args.posts)
        results = [one_run(feed, args.posts, args.config) for _ in range(args.runs)]
    whole = statistics.median(r[0] for r in results)
    steady = statistics.median(r[1] for r in results)
    defaults = "embedded defaults (abuse and spam-text models, profanity, spam rules)"
    what = f"config {args.config}" if args.config else defaults
    print(f"modbot scan, {args.posts} posts, {what}, SQLite, median of {args.runs} runs:")
    print(f"  whole command (start-up + migrations + model load + scan): {whole:,.0f} posts/s")
    print(f"  steady state (first to last decision):                     {steady:,.0f} posts/s")


if __name__ == "__main__":
    main()
