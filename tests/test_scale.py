"""Scale-out against the running PostgreSQL and Redis: `modbot run --role ingest` and three
`--role worker` processes on 10,000 posts; one worker is SIGKILLed midway. Every post is decided
exactly once (its unacknowledged entries are reclaimed by the others) and the stream ends with
nothing pending. Slow (a minute or two here): CI runs it with `pytest -m slow`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import decision_counts, scaled_out_config, start_role

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
POSTS = 10_000


def _redis_or_skip() -> str:
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.ConnectionError:
        if os.environ.get("MODBOT_REQUIRE_REDIS") == "1":
            raise
        pytest.skip("no Redis at 127.0.0.1:6379")
    return url


def test_three_workers_one_killed_decide_every_post_once(pg_database: str, tmp_path: Path) -> None:
    import redis

    redis_url = _redis_or_skip()
    engine = create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    config, feed, stream = scaled_out_config(tmp_path, pg_database, redis_url, scale="claim_idle_seconds = 3\n")
    processes: list[subprocess.Popen[str]] = []
    try:
        ingest = start_role(config, tmp_path, "ingest")
        processes.append(ingest)
        workers = [start_role(config, tmp_path, "worker") for _ in range(3)]
        processes += workers
        lines = "".join(
            json.dumps({"id": f"p{i}", "author": f"u{i % 500}", "text": f"message {i} about gardening"}) + "\n"
            for i in range(POSTS)
        )
        (feed / "posts.tmp").write_text(lines)
        (feed / "posts.tmp").rename(feed / "posts.jsonl")
        deadline = time.monotonic() + 600
        killed = False
        while True:
            try:
                posts, decided, _ = decision_counts(pg_database)
            except Exception:  # the schema is not there yet
                posts = decided = 0
            if not killed and decided >= POSTS // 4:
                workers[0].send_signal(signal.SIGKILL)  # mid-batch: its read entries stay unacknowledged
                workers[0].wait(30)
                killed = True
            if decided >= POSTS:
                break
            assert time.monotonic() < deadline, f"timed out: {posts} posts, {decided} decided"
            assert ingest.poll() is None and all(w.poll() is None for w in workers[1:]), "a process died"
            time.sleep(0.5)
        assert killed
        time.sleep(2)
        assert decision_counts(pg_database) == (POSTS, POSTS, 0)
        client = redis.Redis.from_url(redis_url)
        for _ in range(40):
            if client.xpending(stream, "workers")["pending"] == 0:
                break
            time.sleep(0.5)
        assert client.xpending(stream, "workers")["pending"] == 0
        for p in processes[1:]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        ingest.send_signal(signal.SIGTERM)
        assert ingest.wait(60) == 0
        assert all(w.wait(60) == 0 for w in workers[1:])
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
        redis.Redis.from_url(redis_url).delete(stream)
