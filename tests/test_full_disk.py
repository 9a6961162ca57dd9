"""A full disk: SQLite's own "database or disk is full" (made real with `PRAGMA max_page_count`,
which caps a database file's size, since this machine's disk cannot be filled for a test) on the
database and on the ingest spool. Ingest pauses, nothing is acknowledged, /readyz says why, and
it resumes by itself when space returns, storing every post once."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.ops.metrics import Health, Metrics
from bot.runtime.pipeline import Pipeline
from bot.storage.db import make_engine, upgrade
from bot.storage.spool import IngestSpool
from bot.storage.store import Store
from moderation.decider import Decider
from moderation.policy import Policy, PolicyRules
from moderation.types import Author, Post


def _migrated(url: str) -> Any:
    """A migrated database with no free pages (a migration that rebuilds a table leaves some), so
    that a cap at its size leaves no room at all."""
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM")
    return engine


def _capped(connection: Any, full: bool) -> None:
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages if full else 1_000_000}")


def test_a_full_disk_pauses_ingest_until_space_returns(tmp_path: Path) -> None:
    engine = _migrated(f"sqlite:///{tmp_path / 'modbot.db'}")
    disk = {"full": True}
    event.listen(engine, "connect", lambda dbapi, _: _capped(dbapi, disk["full"]))
    engine.dispose()  # every connection from now on sees the cap
    store = Store(engine)
    spool = IngestSpool(tmp_path / "spool.db", 1000)
    _capped(spool._db, full=True)  # the spool shares the full disk
    pipeline = Pipeline(store, Decider([], Policy(PolicyRules(thresholds={}))), ingest_spool=spool)
    health = Health(Metrics(), lambda: pipeline.db(store.ping), lambda: pipeline.db(store.outbox_backlog),
                    pipeline.queue_depth, lambda: pipeline.running, [], lambda: pipeline.paused)  # fmt: skip
    filler = "a long post that needs new pages in the file " * 200
    posts = [Post("console", "c", "ch", f"p{i}", Author("a"), f"{i} {filler}", datetime.now(UTC)) for i in range(30)]

    async def go() -> None:
        pipeline.start()
        held = asyncio.create_task(pipeline.submit(posts))
        for _ in range(100):
            if pipeline.paused is not None:
                break
            await asyncio.sleep(0.05)
        assert not held.done() and "full" in (pipeline.paused or "")
        assert any(p.startswith("ingest paused: ") for p in await health.problems())
        disk["full"] = False  # space returns
        engine.dispose()
        _capped(spool._db, full=False)
        assert await asyncio.wait_for(held, 30) == 30
        assert pipeline.paused is None and await health.problems() == []
        await pipeline.drain()
        pipeline.close()

    asyncio.run(go())
    counts = store.counts()
    assert sum(n for k, n in counts.items() if k.startswith("posts_")) == 30 and spool.count() == 0, counts
    spool.close()
    engine.dispose()


def test_the_spool_on_another_disk_takes_posts_while_the_database_disk_is_full(tmp_path: Path) -> None:
    engine = _migrated(f"sqlite:///{tmp_path / 'modbot.db'}")
    event.listen(engine, "connect", lambda dbapi, _: _capped(dbapi, True))
    engine.dispose()
    spool = IngestSpool(tmp_path / "elsewhere" / "spool.db", 1000)
    pipeline = Pipeline(Store(engine), Decider([], Policy(PolicyRules(thresholds={}))), ingest_spool=spool)
    post = Post("console", "c", "ch", "p", Author("a"), "hello " * 2000, datetime.now(UTC))

    async def go() -> None:
        assert await pipeline.submit([post]) == 1  # acknowledged from the spool
        assert pipeline.paused is None
        pipeline.stop_ingest()
        pipeline.close()

    asyncio.run(go())
    assert spool.count() == 1
    spool.close()
    engine.dispose()
    assert sqlite3.sqlite_version  # the cap above is SQLite's, not a stand-in
