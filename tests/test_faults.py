"""Faults the service must ride out, against the real PostgreSQL server: the database going away
(a TCP proxy in front of it cuts every connection and refuses new ones, as a restart would) while
posts keep arriving. Nothing accepted is lost, nothing is decided twice, the service never stops."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from bot.config import Config
from bot.runtime.pipeline import Pipeline
from bot.runtime.service import run_service
from bot.storage.db import DatabaseError
from bot.storage.spool import IngestSpool
from tests.conftest import decision_counts
from tests.fakes.tcp_proxy import TcpProxy

OUTAGE_SECONDS = 30


def _write(folder: Path, name: str, ids: range) -> None:
    lines = "".join(
        json.dumps({"id": f"p{i}", "text": f"post {i}" + (" fuck" if i % 7 == 0 else "")}) + "\n" for i in ids
    )
    (folder / f"{name}.tmp").write_text(lines)
    (folder / f"{name}.tmp").rename(folder / f"{name}.jsonl")


@pytest.mark.slow
@pytest.mark.postgres
def test_database_outage_loses_nothing(pg_database: str, tmp_path: Path) -> None:
    """Slow (the outage lasts 30 s): CI runs it with `pytest -m slow`."""
    engine = create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    feed = tmp_path / "feed"
    feed.mkdir()

    async def go() -> None:
        real = make_url(pg_database)
        proxy = TcpProxy(real.port or 5432, real.host or "127.0.0.1")
        await proxy.start()
        via_proxy = real.set(port=proxy.port).render_as_string(hide_password=False)
        config = Config.model_validate(
            {
                "data": {"dir": str(tmp_path)},
                "database": {"url": via_proxy},
                "pipeline": {"batch_wait_ms": 20, "batch_size": 16},
                "adapters": {"console": {"source": str(feed), "follow": True, "poll_seconds": 0.1}},
                "executor": {"backoff_seconds": 0.1},
            }
        )
        stop = asyncio.Event()
        service = asyncio.create_task(run_service(config, stop_request=stop))

        async def until(predicate, seconds: float) -> None:  # type: ignore[no-untyped-def]
            for _ in range(int(seconds * 10)):
                try:
                    if predicate():
                        return
                except ProgrammingError:  # the service has not created its tables yet
                    pass
                assert not service.done(), service.exception() if service.done() else ""
                await asyncio.sleep(0.1)
            raise AssertionError(f"timed out; posts, decisions, decided twice = {decision_counts(pg_database)}")

        _write(feed, "a", range(0, 300))
        await until(lambda: decision_counts(pg_database)[1] >= 100, 60)
        proxy.down()  # mid-stream: some batches are being scored, some stored, some not yet read
        with (feed / "a.jsonl").open("a") as f:  # more arrives on the source being read
            f.write("".join(json.dumps({"id": f"p{i}", "text": f"post {i}"}) + "\n" for i in range(300, 600)))
        await asyncio.sleep(OUTAGE_SECONDS)
        during = decision_counts(pg_database)
        spooled = IngestSpool(tmp_path / "ingest-spool.db", 1).count()
        proxy.up()
        await until(lambda: decision_counts(pg_database)[1] == 600, 120)
        stop.set()
        report = await asyncio.wait_for(service, 60)
        await proxy.stop()
        assert not report.errors
        assert during[1] < 600  # the outage really held decisions back
        assert spooled > 0  # posts that arrived meanwhile waited on local disk, acknowledged
        assert decision_counts(pg_database) == (600, 600, 0)

    asyncio.run(go())


def test_spool_keeps_decisions_in_order_until_the_database_answers(store, caplog) -> None:  # type: ignore[no-untyped-def]
    """The spool on its own: record() fails for a while; decisions wait in memory, in order, up to
    the spool's limit (then scoring pauses, saying so), and are written once it works again, each
    exactly once."""
    from datetime import UTC, datetime

    from moderation.decider import Decider
    from moderation.policy import Policy, PolicyRules
    from moderation.types import Author, Post

    class Flaky:
        name, version, categories, needs_embedding = "flaky", "1", ("toxicity",), False

        def score(self, batch):  # type: ignore[no-untyped-def]
            from moderation.scoring import ScoreResult

            return [ScoreResult({"toxicity": 0.0}) for _ in batch]

    failing = {"on": True}
    real_record = store.record

    def record(items, decided_by="modbot"):  # type: ignore[no-untyped-def]
        if failing["on"]:
            raise DatabaseError("connection refused")
        return real_record(items, decided_by)

    store.record = record
    decider = Decider([Flaky()], Policy(PolicyRules(thresholds={})))
    pipeline = Pipeline(store, decider, batch_size=5, batch_wait_ms=1, spool_limit=15)

    async def go() -> None:
        pipeline.start()
        posts = [Post("console", "c", "ch", f"s{i}", Author("a"), f"t{i}", datetime.now(UTC)) for i in range(40)]
        await pipeline.submit(posts)
        await asyncio.sleep(2)
        assert 15 <= pipeline.spooled < 40 and pipeline.decided_count == 0  # full: the rest waits unscored
        assert "decision spool full" in caplog.text
        failing["on"] = False
        for _ in range(200):
            if pipeline.decided_count == 40:
                break
            await asyncio.sleep(0.05)
        await pipeline.drain()
        pipeline.close()

    asyncio.run(go())
    assert pipeline.decided_count == 40 and pipeline.spooled == 0
    assert store.counts()["posts_decided"] == 40


def test_redis_outage_makes_ingest_wait_with_posts_already_stored(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Scaled out, ingest stores each post before handing it to Redis: while Redis is away the
    adapter waits (nothing more is acknowledged), the posts are safe in the store, and they reach
    the stream when Redis returns."""
    import uuid
    from datetime import UTC, datetime

    import redis

    from bot.config import ScaleConfig
    from bot.runtime.stream import PostStream
    from moderation.decider import Decider
    from moderation.policy import Policy, PolicyRules
    from moderation.types import Author, Post

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=2).ping()
    except redis.ConnectionError:
        if os.environ.get("MODBOT_REQUIRE_REDIS") == "1":
            raise
        pytest.skip("no Redis at 127.0.0.1:6379")
    stream_name = f"modbot-test:{uuid.uuid4().hex}"

    async def go() -> None:
        proxy = TcpProxy(6379)
        await proxy.start()
        stream = PostStream(ScaleConfig(redis_url=f"redis://127.0.0.1:{proxy.port}/0", stream=stream_name))
        pipeline = Pipeline(store, Decider([], Policy(PolicyRules(thresholds={}))), stream=stream)
        posts = [Post("console", "c", "ch", f"r{i}", Author("a"), f"t{i}", datetime.now(UTC)) for i in range(5)]
        await pipeline.submit(posts[:2])
        proxy.down()
        waiting = asyncio.create_task(pipeline.submit(posts[2:]))
        await asyncio.sleep(3)
        assert not waiting.done()  # the adapter is held: nothing acknowledged
        assert store.counts()["posts_pending"] == 5  # but every post is stored
        proxy.up()
        assert await asyncio.wait_for(waiting, 60) == 3
        await stream.close()
        await proxy.stop()

    try:
        asyncio.run(go())
        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        rows = [int(fields[b"row"]) for _, fields in client.xrange(stream_name)]
        assert sorted(rows) == [row for row, _ in store.pending(10)]
    finally:
        redis.Redis.from_url("redis://127.0.0.1:6379/0").delete(stream_name)


def test_ingest_spool_takes_posts_while_the_database_is_down_and_pauses_when_full(
    store,
    tmp_path: Path,
    caplog,  # type: ignore[no-untyped-def]
) -> None:
    """Posts handed over during an outage are acknowledged from the local spool (durable), stored
    in order when the database returns, and survive a restart in between; a full spool pauses
    ingest with a log line."""
    from datetime import UTC, datetime

    from moderation.decider import Decider
    from moderation.policy import Policy, PolicyRules
    from moderation.types import Author, Post

    down = {"on": True}
    real_accept = store.accept

    def accept(posts, cursor=None):  # type: ignore[no-untyped-def]
        if down["on"]:
            raise DatabaseError("connection refused")
        return real_accept(posts, cursor)

    store.accept = accept
    posts = [Post("console", "c", "ch", f"k{i}", Author("a"), f"text {i}", datetime.now(UTC)) for i in range(12)]
    decider = Decider([], Policy(PolicyRules(thresholds={})))

    async def outage() -> None:
        pipeline = Pipeline(store, decider, ingest_spool=IngestSpool(tmp_path / "spool.db", 8))
        pipeline.start()
        assert await pipeline.submit(posts[:4]) == 4  # acknowledged from the spool
        assert await pipeline.submit(posts[4:8]) == 4
        held = asyncio.create_task(pipeline.submit(posts[8:]))  # the spool is full: ingest waits
        await asyncio.sleep(1.5)
        assert not held.done() and "ingest spool full" in caplog.text
        pipeline.stop_ingest()
        with pytest.raises(DatabaseError):
            await held
        await pipeline.drain()  # the process stops with the database still down
        pipeline.close()
        assert pipeline.ingest_spool is not None and pipeline.ingest_spool.count() == 8
        pipeline.ingest_spool.close()

    async def restart() -> None:
        down["on"] = False
        pipeline = Pipeline(store, decider, ingest_spool=IngestSpool(tmp_path / "spool.db", 8))
        pipeline.start()
        await pipeline.resume_pending()
        for _ in range(100):
            if (
                pipeline.ingest_spool is not None
                and pipeline.ingest_spool.count() == 0
                and store.counts().get("posts_decided") == 8
            ):
                break
            await asyncio.sleep(0.05)
        await pipeline.drain()
        pipeline.close()

    asyncio.run(outage())
    asyncio.run(restart())
    with store.engine.connect() as conn:
        stored = [r[0] for r in conn.execute(text("SELECT platform_post_id FROM posts ORDER BY id"))]
    assert stored == [f"k{i}" for i in range(8)]  # in arrival order
    assert store.counts()["posts_decided"] == 8
