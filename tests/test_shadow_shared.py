"""The shadow switch is shared state: a moderator switches shadow mode on in the ingest process
(`/modbot shadow on` writes it to the store, as Desk.set_shadow does), and a `--role worker`
process, which read the switches when it started, decides the next post in shadow without a
restart. Real processes on the running PostgreSQL and Redis, on the rules-only stack."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.storage.db import make_engine
from bot.storage.store import Store
from tests.conftest import RULES_ONLY_TOML, SWEARING_FLAGGED, scaled_out_config, start_role
from tests.test_scale import _redis_or_skip

pytestmark = pytest.mark.postgres


def _decided(url: str) -> dict[str, tuple[str, bool]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT p.platform_post_id, d.outcome, d.shadow FROM decisions d JOIN posts p ON p.id = d.post_id")
            ).all()
    except Exception:  # the schema is not there yet
        return {}
    finally:
        engine.dispose()
    return {platform_id: (outcome, shadow) for platform_id, outcome, shadow in rows}


def _wait_for(url: str, post_id: str, processes: list[subprocess.Popen[str]]) -> tuple[str, bool]:
    deadline = time.monotonic() + 90
    while (found := _decided(url).get(post_id)) is None:
        assert time.monotonic() < deadline, f"{post_id} was not decided"
        assert all(p.poll() is None for p in processes), "a process died"
        time.sleep(0.2)
    return found


def test_a_shadow_switch_reaches_a_running_worker(pg_database: str, tmp_path: Path) -> None:
    import redis

    redis_url = _redis_or_skip()
    config, feed, stream = scaled_out_config(tmp_path, pg_database, redis_url, tail=RULES_ONLY_TOML + SWEARING_FLAGGED)

    def post(name: str) -> None:
        line = json.dumps({"id": name, "author": "u1", "text": "what the fuck is this shit"}) + "\n"
        (feed / f"{name}.tmp").write_text(line)
        (feed / f"{name}.tmp").rename(feed / f"{name}.jsonl")

    processes = [start_role(config, tmp_path, "ingest"), start_role(config, tmp_path, "worker")]
    try:
        post("before")
        assert _wait_for(pg_database, "before", processes) == ("flag", False)
        engine = make_engine(pg_database)
        Store(engine).set_shadow("console", "console", True, "test", "the shadow-switch test")
        engine.dispose()
        post("after")
        assert _wait_for(pg_database, "after", processes) == ("flag", True)
        for p in processes:
            p.send_signal(signal.SIGTERM)
        assert [p.wait(60) for p in processes] == [0, 0]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
        redis.Redis.from_url(redis_url).delete(stream)
