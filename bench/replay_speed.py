"""Seconds for `modbot replay` of a threshold change over 100,000 stored decisions (#20's goal:
under 60 s on the 2-core development machine).

Seeds a fresh SQLite database with `--posts` posts decided by the default stack's policy from
stored-looking scores (a scorer that returns seeded random scores, so seeding takes seconds, not
the model's ten minutes), then times the command's own path: the store's chunked read, the replay
from stored scores under a policy with other thresholds, and the report. Prints the CPU flags, as
every bench here does, since machines of this kind differ.

Usage: .venv/bin/python bench/replay_speed.py [--posts 100000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.spam_soak import cpu_flags  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.lab.replay import replay, report  # noqa: E402
from bot.storage.db import make_engine, upgrade  # noqa: E402
from bot.storage.store import Store  # noqa: E402
from moderation.decider import Decider  # noqa: E402
from moderation.scoring import ScoreResult, ScoringInput  # noqa: E402
from moderation.types import Author, Post  # noqa: E402


class Seeded:
    name = "head"
    version = "bench"
    categories = ("hate", "harassment", "threat", "profanity")
    needs_embedding = False

    def __init__(self) -> None:
        self.rng = random.Random(7)

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        return [ScoreResult({c: self.rng.random() ** 3 for c in self.categories}) for _ in batch]


def seed(store: Store, posts: int) -> None:
    decider = Decider([Seeded()], Config().build_policy())  # type: ignore[list-item]
    now = datetime.now(UTC)
    for start in range(0, posts, 2000):
        batch = [
            Post("console", "bench", "general", str(i), Author(f"a{i % 5000}"), f"post number {i}", now)
            for i in range(start, min(posts, start + 2000))
        ]
        accepted = store.accept(batch)
        decided = decider.decide([p for _, p in accepted], count=False)
        store.record([(row, p, d, []) for (row, p), (d, _) in zip(accepted, decided, strict=True)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=100_000)
    args = parser.parse_args()
    print(f"cpu flags: {cpu_flags()}")
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        store = Store(engine)
        started = time.perf_counter()
        seed(store, args.posts)
        print(f"seeded {args.posts} decisions in {time.perf_counter() - started:.1f} s")
        thresholds = {"harassment": {"flag": 0.7}, "hate": {"flag": 0.6}}
        stricter = Config.model_validate({"policy": {"thresholds": thresholds}})
        decider = Decider([Seeded()], stricter.build_policy())  # type: ignore[list-item]
        started = time.perf_counter()
        tally = replay(store.stored_for_replay(datetime.now(UTC) - timedelta(days=30)), decider)
        figures = report(tally, "bench", decider.versions).figures
        seconds = time.perf_counter() - started
        replayed = sum(tally.how.values())
        print(f"replayed {replayed} decisions in {seconds:.1f} s ({replayed / seconds:.0f}/s)")
        for key in ("from stored scores", "outcomes changed", "cases that would not have opened"):
            print(f"  {key}: {figures[key]}")
        engine.dispose()


if __name__ == "__main__":
    main()
