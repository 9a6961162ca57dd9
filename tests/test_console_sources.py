"""The console adapter's other sources: standard input and a watched folder; and the progress bar."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.config import Config
from bot.runtime.service import run_service
from tests.conftest import RULES_ONLY_TOML


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "MODBOT_DATA_DIR": str(tmp_path)}
    env.pop("MODBOT_CONFIG", None)
    return env


def test_scan_reads_standard_input(tmp_path: Path) -> None:
    lines = [json.dumps({"id": "s1", "text": "hello there"}), json.dumps({"id": "s2", "text": "fuck off"}), "{bad"]
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "scan", "-"],
        input="\n".join(lines) + "\n",
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "2 posts: 2 decided now" in done.stdout
    assert "skipped stdin:3: not valid JSON" in done.stderr


def test_followed_folder_picks_up_new_files_until_stopped(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps({"id": "a1", "text": "first file"}) + "\n")
    (folder / "ignored.txt").write_text("not a feed\n")
    config = Config.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
            "data": {"dir": str(tmp_path)},
            "adapters": {"console": {"source": str(folder), "follow": True, "poll_seconds": 0.05}},
        }
    )

    def decided() -> int:
        engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM decisions")).scalar_one())
        except OperationalError:
            return 0
        finally:
            engine.dispose()

    async def until(count: int) -> None:
        for _ in range(600):
            if decided() >= count:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"fewer than {count} decisions")

    async def go() -> list[str]:
        task = asyncio.create_task(run_service(config, keep_decisions=True))
        await until(1)
        (folder / "b.jsonl").write_text(json.dumps({"id": "b1", "text": "second file"}) + "\n")
        with (folder / "a.jsonl").open("a") as f:
            f.write(json.dumps({"id": "a2", "text": "appended later"}) + "\n")
        await until(3)
        os.kill(os.getpid(), signal.SIGTERM)  # the service's own handler takes it
        report = await asyncio.wait_for(task, 30)
        assert report.stopped_by_signal
        return sorted(d.post.id for d in report.decided)

    assert asyncio.run(go()) == ["a1", "a2", "b1"]


def test_long_input_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    feed = tmp_path / "long.jsonl"
    with feed.open("w") as f:  # past the bar's 64 KiB; the rules alone, so the bar is the test, not the model
        for i in range(1200):
            f.write(json.dumps({"id": f"p{i}", "text": f"post number {i} about the weather and the garden"}) + "\n")
    (tmp_path / "rules.toml").write_text(RULES_ONLY_TOML)
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--config", str(tmp_path / "rules.toml"), "scan", str(feed)],
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    )
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=300) == 0
    assert b"scanning" in seen
