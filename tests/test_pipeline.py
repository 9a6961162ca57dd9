"""The pipeline end to end with the real offline scorers, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Config
from bot.runtime.pipeline import Decided, Pipeline
from bot.runtime.service import run_service
from bot.storage.store import Store
from moderation.decider import Decider
from moderation.policy import Policy, PolicyRules
from moderation.scoring import ScoreResult, ScoringInput
from moderation.types import Author, Outcome, Post

RULES = PolicyRules(thresholds={"profanity": {Outcome.FLAG: 0.9}, "similarity": {Outcome.LOG: 0.5}})


def post(pid: str, text: str) -> Post:
    return Post(
        platform="console",
        community="c",
        channel="general",
        id=pid,
        author=Author(id="u"),
        text=text,
        created_at=datetime.now(UTC),
    )


class EmbeddingHead:
    """A test head that uses the shared embedding: cosine similarity to one reference sentence."""

    name = "similarity"
    version = "test"
    categories = ("similarity",)
    needs_embedding = True

    def __init__(self, reference: list[float]) -> None:
        self.reference = reference
        self.batches: list[int] = []

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        self.batches.append(len(batch))
        out = []
        for item in batch:
            assert item.embedding is not None and len(item.embedding) == 384
            cos = sum(a * b for a, b in zip(item.embedding, self.reference, strict=True))
            out.append(ScoreResult({"similarity": max(0.0, min(1.0, cos))}))
        return out


def test_micro_batches_share_one_embedding_per_post(store: Store, profanity_scorer, embedder) -> None:  # type: ignore[no-untyped-def]
    head = EmbeddingHead(embedder.embed(["the train was late again this morning"])[0])
    decider = Decider([profanity_scorer, head], Policy(default=RULES), embedder)
    assert decider.versions["embedding"] == "all-MiniLM-L6-v2"

    async def go() -> list[Decided]:
        decided: list[Decided] = []
        pipeline = Pipeline(store, decider, batch_size=8, batch_wait_ms=20)
        pipeline.on_decided(decided.extend)
        pipeline.start()
        posts = [
            post(f"p{i}", text)
            for i, text in enumerate(["my train was late this morning", "fuck you", "lovely weather"] * 7)
        ]
        assert await pipeline.submit(posts) == 21
        assert await pipeline.submit(posts) == 0  # already accepted
        await pipeline.drain()
        pipeline.close()
        return decided

    decided = asyncio.run(go())
    assert len(decided) == 21 and max(head.batches) <= 8 and sum(head.batches) == 21
    by_text = {d.post.text: d.decision for d in decided}
    assert by_text["fuck you"].outcome is Outcome.FLAG
    assert by_text["my train was late this morning"].outcome is Outcome.LOG
    assert by_text["lovely weather"].outcome is Outcome.ALLOW
    assert set(by_text["fuck you"].scorer_versions) == {"profanity", "similarity", "embedding"}
    assert len(store.cases()) == 7


def test_a_scorer_failure_keeps_posts_for_retry(store: Store, profanity_scorer) -> None:  # type: ignore[no-untyped-def]
    class Broken:
        name, version, categories, needs_embedding = "broken", "0", ("x",), False

        def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
            raise RuntimeError("model file corrupted")

    async def go(decider: Decider) -> Pipeline:
        pipeline = Pipeline(store, decider, batch_size=4, batch_wait_ms=0)
        pipeline.start()
        await pipeline.submit([post("a", "hi"), post("b", "yo")])
        await pipeline.drain()
        pipeline.close()
        return pipeline

    failed = asyncio.run(go(Decider([Broken()], Policy(default=RULES))))
    assert failed.failed_count == 2
    assert [p.id for _, p in store.pending()] == ["a", "b"]

    async def retry() -> int:
        pipeline = Pipeline(store, Decider([profanity_scorer], Policy(default=RULES)), batch_wait_ms=0)
        pipeline.start()
        resumed = await pipeline.resume_pending()
        await pipeline.drain()
        pipeline.close()
        return resumed

    assert asyncio.run(retry()) == 2
    assert store.pending() == []


def test_service_scans_file_decides_and_carries_out_actions(db_url: str, tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    lines = [{"id": "1", "text": "have a nice day"}, {"id": "2", "text": "f*ck off you piece of sh1t"}]
    feed.write_text("".join(json.dumps(x) + "\n" for x in lines))
    actions_log = tmp_path / "actions.jsonl"
    config = Config.model_validate(
        {
            "database": {"url": db_url},
            "data": {"dir": str(tmp_path)},
            "policy": {"thresholds": {"profanity": {"remove": 0.9}}},
            "adapters": {"console": {"source": str(feed), "actions_log": str(actions_log)}},
        }
    )
    report = asyncio.run(run_service(config, keep_decisions=True))
    assert {d.post.id: d.decision.outcome for d in report.decided} == {"1": Outcome.ALLOW, "2": Outcome.REMOVE}
    assert report.actions_done == 1
    [entry] = [json.loads(x) for x in actions_log.read_text().splitlines()]
    assert entry["action"] == "remove" and entry["post_id"] == "2" and "profanity" in entry["params"]["reason"]
    again = asyncio.run(run_service(config, keep_decisions=True))  # cursor: nothing read twice
    assert again.decided == [] and next(iter(again.ingest.values())).lines == 0


def test_failed_posts_are_retried_while_running(store: Store, profanity_scorer) -> None:  # type: ignore[no-untyped-def]
    class Flaky:
        name, version, categories, needs_embedding = "flaky", "0", ("profanity",), False

        def __init__(self) -> None:
            self.calls = 0

        def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("model busy")
            return profanity_scorer.score(batch)

    async def go() -> Pipeline:
        pipeline = Pipeline(store, Decider([Flaky()], Policy(default=RULES)), batch_wait_ms=0, retry_failed_seconds=0.2)
        pipeline.start()
        await pipeline.submit([post("a", "fuck off")])
        for _ in range(100):
            if pipeline.decided_count:
                break
            await asyncio.sleep(0.05)
        await pipeline.drain()
        pipeline.close()
        return pipeline

    pipeline = asyncio.run(go())
    assert pipeline.failed_count == 1 and pipeline.decided_count == 1
    assert store.pending() == []
