"""Posts per second of the Decider with every offline scorer on, on tweet-length posts.

`--stack default`: what runs with no configuration file (the abuse model, the spam-text model,
profanity and the spam rules; no fact-checks, so the frozen encoder's layers are skipped).
`--stack all` (the default here): every offline scorer, the shared embedding once per post, the
abuse model, the spam-text model, fact-check matching (through the shipped map), profanity, the
spam rules and the domain list, through the same Decider the service runs (normaliser and
windows included; no database). Posts are OLID's test tweets (mean 146 characters) when
../shared/datasets is there, else the sample feed. The fact-check index holds
`--claims` CheckThat! claim texts (BM25 over real words) with random unit vectors for embeddings:
matching costs the same whatever the vectors say, and embedding 10,000 claims first would take
minutes. Prints the rate and where the time goes, and what a post that reaches the fact-check
re-ranker's gate costs (none of these random-vector claims lets one through).

Usage: .venv/bin/python bench/scorer_throughput.py [--stack all|default] [--batch 128] [--rounds 3] [--claims 10000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.spam_soak import cpu_flags  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.lab.evaluation import datasets  # noqa: E402
from bot.runtime import wiring  # noqa: E402
from bot.runtime.scorers import build_scorers  # noqa: E402
from model.claimmap import ClaimMap  # noqa: E402
from model.claims import Claim, ClaimIndex, ClaimScorer  # noqa: E402
from model.heads import HeadScorer  # noqa: E402
from moderation import rerank  # noqa: E402
from moderation.decider import Decider  # noqa: E402
from moderation.domains import DomainReputation  # noqa: E402
from moderation.identity import Swaps  # noqa: E402
from moderation.normalise import normalise  # noqa: E402
from moderation.types import Author, Post  # noqa: E402

DATA = REPO.parent / "shared" / "datasets"


def posts_and_claims(n_claims: int) -> tuple[list[str], list[str]]:
    if (DATA / "olid-offenseval2019").is_dir():
        texts = datasets.olid_test(DATA).texts
        claims = [t for _, t in datasets.checkthat(DATA).claims][:n_claims]
    else:
        feed = (REPO / "examples" / "sample-feed.jsonl").read_text().splitlines()
        texts = [json.loads(line)["text"] for line in feed if line.startswith("{")]
        claims = [f"claim number {i} about {texts[i % len(texts)]}" for i in range(n_claims)]
    return texts, claims


class Timed:
    """Wraps the embedder to measure its share."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.label = inner.label  # type: ignore[attr-defined]
        self.seconds = 0.0

    def encode(
        self, texts: Sequence[str], with_branch: bool = True
    ) -> tuple[list[list[float]] | None, list[list[float]] | None]:
        started = time.perf_counter()
        out: tuple[list[list[float]] | None, list[list[float]] | None] = self.inner.encode(texts, with_branch)  # type: ignore[attr-defined]
        self.seconds += time.perf_counter() - started
        return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=Config().pipeline.batch_size, help="default: the pipeline's")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--stack", choices=("all", "default"), default="all")
    args = parser.parse_args()
    texts, claim_texts = posts_and_claims(args.claims)
    config = Config()
    print(f"cpu: {cpu_flags()}")
    if args.stack == "default":
        started = time.perf_counter()
        scorers, embedder = build_scorers(config.scorers)
        print(f"default stack loaded in {time.perf_counter() - started:.1f} s")
        timed = Timed(embedder)
        measure(wiring.decider_from(config, scorers, timed), timed, texts, [], args)
        # what scoring a post that names a group with copies naming others costs, in the same run
        named = sum(bool(Swaps(1).of(normalise(t).text)) for t in texts)
        print(f"\nthe same with identity_swaps = 0 ({named} of {len(texts)} posts name a group):")
        plain = [HeadScorer(s.head) if isinstance(s, HeadScorer) else s for s in scorers]
        measure(wiring.decider_from(config, plain, timed), timed, texts, [], args)
        return
    config = Config.model_validate({"scorers": {"embedding": {"enabled": True}}})
    scorers, embedder = build_scorers(config.scorers)
    assert embedder is not None
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(claim_texts), embedder.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    claims = [Claim(i, t, "false", "https://fact.example", "bench") for i, t in enumerate(claim_texts)]
    gate = config.scorers.claims.rerank_from
    index = ClaimIndex(claims, vectors, ClaimMap.load(), embedder, gate)
    scorers.append(ClaimScorer(index, "bench"))
    domains = DomainReputation.parse("scam.example spam giveaway scams\n", "bench")
    timed = Timed(embedder)
    decider = wiring.decider_from(config, scorers, timed, domains=domains)
    measure(decider, timed, texts, claim_texts, args)
    rerank_cost(claims, vectors, embedder, texts, config.scorers.claims.rerank_from, args.batch)


def measure(decider: Decider, timed: Timed, texts: list[str], claim_texts: list[str], args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    posts = [Post("bench", "c", "g", str(i), Author(f"u{i % 500}"), t, now) for i, t in enumerate(texts)]
    decider.decide(posts[: args.batch])  # warm up
    rates, shares = [], []
    for _ in range(args.rounds):
        timed.seconds = 0.0
        started = time.perf_counter()
        for s in range(0, len(posts), args.batch):
            decider.decide(posts[s : s + args.batch])
        elapsed = time.perf_counter() - started
        rates.append(len(posts) / elapsed)
        shares.append(timed.seconds / elapsed)
    chars = statistics.mean(len(t) for t in texts)
    print(f"{len(posts)} posts (mean {chars:.0f} characters), batches of {args.batch}, {len(claim_texts)} fact-checks")
    print(f"scorers: {', '.join(decider.versions)}")
    print(f"median {statistics.median(rates):.0f} posts/s over {args.rounds} rounds (min {min(rates):.0f})")
    print(f"encoder (embedding + the head's fine-tuned layers): {statistics.median(shares) * 100:.0f} % of the time;")
    print("everything else (normaliser, head,")
    print(f"spam-text, claims, profanity, rules): {(1 - statistics.median(shares)) * 100:.0f} %")


def rerank_cost(
    claims: list[Claim], vectors: np.ndarray, embedder: Any, texts: list[str], gate: float, batch: int
) -> None:
    # With random fact-check vectors no post reaches the re-ranker's gate (0.5% of OLID's tweets do
    # against the real CheckThat! collection, docs/evaluation.md); what one that does costs:
    reranking = ClaimIndex(claims, vectors, ClaimMap.load(), embedder, rerank_from=0.0)
    sample = [normalise(t).text for t in texts[:128]]
    sample_vectors = embedder.embed(sample)
    costs = []
    for _ in range(2):  # the first pass encodes every candidate, the second finds them kept
        started = time.perf_counter()
        for s in range(0, len(sample), batch):
            reranking.search_many(sample[s : s + batch], sample_vectors[s : s + batch], k=1)
        costs.append((time.perf_counter() - started) / len(sample) * 1000)
    print(
        f"fact-check search of a post past the re-ranker's gate ({gate}): {costs[0]:.1f} ms with its "
        f"{rerank.DEPTH} candidates to encode, {costs[1]:.1f} ms with them kept"
    )


if __name__ == "__main__":
    main()
