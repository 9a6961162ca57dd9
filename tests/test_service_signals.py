"""`modbot run` stopped mid-stream (SIGTERM, and SIGKILL as a crash) and started again loses no
accepted post and decides none twice. Runs the real CLI in a subprocess against SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import RULES_ONLY_TOML

TOTAL = 1500


def _config(tmp_path: Path, db_url: str, feed: Path) -> Path:
    cfg = tmp_path / "modbot.toml"
    cfg.write_text(
        f"""
[data]
dir = "{tmp_path}"
[database]
url = "{db_url}"
[pipeline]
batch_size = 16
batch_wait_ms = 5
[adapters.console]
source = "{feed}"
follow = true
poll_seconds = 0.05
[logging]
level = "warning"
"""
        + RULES_ONLY_TOML
    )
    return cfg


class Writer(threading.Thread):
    """Appends posts to the feed in small bursts, as a live source would. `pause` holds it between
    bursts until `resume`, so the stop lands mid-stream however long the first process takes to end."""

    def __init__(self, feed: Path) -> None:
        super().__init__(daemon=True)
        self.feed = feed
        self.written = 0
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._running.set()

    def pause(self) -> int:
        """Holds the writer and says how many posts it had written."""
        with self._lock:
            self._running.clear()
            return self.written

    def resume(self) -> None:
        self._running.set()

    def run(self) -> None:
        texts = ["nice to meet you all", "shut the fuck up", "see you at the meetup", "you absolute sh1t"]
        with self.feed.open("a", encoding="utf-8") as f:
            while self.written < TOTAL:
                self._running.wait()
                with self._lock:
                    if self._running.is_set():  # not paused while this burst waited for the lock
                        self._burst(f, texts)
                time.sleep(0.05)

    def _burst(self, f: TextIO, texts: list[str]) -> None:
        for _ in range(min(15, TOTAL - self.written)):
            i = self.written
            f.write(json.dumps({"id": f"p{i}", "author": f"u{i % 7}", "text": texts[i % 4]}) + "\n")
            self.written += 1
        f.flush()


def _decided(db_url: str) -> tuple[int, int, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            decisions = conn.execute(text("SELECT count(*) FROM decisions")).scalar_one()
            distinct = conn.execute(text("SELECT count(DISTINCT post_id) FROM decisions")).scalar_one()
            posts = conn.execute(text("SELECT count(*) FROM posts")).scalar_one()
            return decisions, distinct, posts
    except Exception:
        return -1, -1, -1  # schema not created yet
    finally:
        engine.dispose()


def _start(cfg: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--config", str(cfg), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )


def _wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_stop_mid_stream_and_restart_loses_nothing_and_decides_once(
    how: signal.Signals, db_url: str, tmp_path: Path
) -> None:
    feed = tmp_path / "live.jsonl"
    feed.touch()
    cfg = _config(tmp_path, db_url, feed)
    writer = Writer(feed)
    first = _start(cfg)
    _wait_for(lambda: _decided(db_url)[0] >= 0, 60, "the schema")
    writer.start()
    _wait_for(lambda: _decided(db_url)[0] >= 100, 60, "the first decisions")
    first.send_signal(how)
    interrupted_at = writer.pause()
    assert interrupted_at < TOTAL, "the writer finished before the stop: not mid-stream"
    output = first.communicate(timeout=60)[0].decode(errors="replace")
    if how is signal.SIGTERM:
        assert first.returncode == 0, output
        assert "modbot stopped" in output

    second = _start(cfg)
    writer.resume()
    writer.join(timeout=60)
    _wait_for(lambda: _decided(db_url)[1] >= TOTAL, 120, "every post to be decided")
    second.send_signal(signal.SIGTERM)
    output = second.communicate(timeout=60)[0].decode(errors="replace")
    assert second.returncode == 0, output

    decisions, distinct, posts = _decided(db_url)
    assert posts == TOTAL, "an accepted post was lost or duplicated"
    assert decisions == distinct == TOTAL, f"{decisions} decisions for {distinct} posts"
