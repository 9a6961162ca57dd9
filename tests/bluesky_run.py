"""`modbot run` as a subprocess against the real AT Protocol stack (the real entry point, and real
signals), for the tests that kill or stop it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_config(tmp_path: Path, db_url: str, bluesky: str, more: str = "") -> Path:
    """A config file for `modbot run` in a subprocess (the real entry point, and real signals):
    Bluesky with the given `[adapters.bluesky]` lines, nothing else on; `more`: further tables."""
    cfg = tmp_path / "modbot.toml"
    cfg.write_text(f"""
[data]
dir = "{tmp_path}"
[database]
url = "{db_url}"
[adapters.console]
enabled = false
[adapters.bluesky]
enabled = true
{bluesky}
{more}
[logging]
level = "warning"
""")
    return cfg


def start_run(cfg: Path, stack: dict[str, Any]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MODBOT_BLUESKY_APP_PASSWORD": stack["accounts"]["alice"]["password"]}
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--config", str(cfg), "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
