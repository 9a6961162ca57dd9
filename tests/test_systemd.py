"""The systemd side: the unit files pass `systemd-analyze verify`, `modbot service install` writes
them with this checkout's paths (and keeps existing config and secrets), and the service speaks
the notify protocol. systemd is not PID 1 on CI machines, so the unit's ExecStart runs here the
way systemd would run it: with the unit's Environment= and a $NOTIFY_SOCKET that the test reads
(READY=1 after start, WATCHDOG=1 pings, STOPPING=1 on SIGTERM, exit 0)."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from bot.cli import main

ANALYZE = shutil.which("systemd-analyze")


def _install(root: Path, *extra: str) -> int:
    return main(["service", "install", "--root", str(root), *extra])


def test_service_install_writes_unit_config_and_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _install(tmp_path, "--dry-run") == 0
    assert "(dry run: nothing written)" in capsys.readouterr().out and not (tmp_path / "etc").exists()
    assert _install(tmp_path) == 0
    unit = (tmp_path / "etc/systemd/system/modbot.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert os.access(shlex.split(exec_start.removeprefix("ExecStart="))[0], os.X_OK)
    assert "Type=notify" in unit and "WatchdogSec=" in unit and "ProtectSystem=strict" in unit
    env = tmp_path / "etc/modbot/env"
    assert env.stat().st_mode & 0o777 == 0o600
    env.write_text("MODBOT_DISCORD_TOKEN=secret\n")
    assert _install(tmp_path) == 0  # a second install keeps what the operator wrote
    assert env.read_text() == "MODBOT_DISCORD_TOKEN=secret\n"
    assert "keep   " in capsys.readouterr().out
    config = tmp_path / "etc/modbot/modbot.toml"
    assert main(["config", "check", str(config)]) == 0
    assert _install(tmp_path, "--instance", "garden") == 0
    assert "/etc/modbot/garden.toml" in (tmp_path / "etc/systemd/system/modbot@.service").read_text().replace(
        "%i", "garden"
    )
    assert _install(tmp_path, "--instance", "../evil") == 2


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (apt install systemd)")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    assert _install(tmp_path) == 0 and _install(tmp_path, "--instance", "garden") == 0
    units = tmp_path / "etc/systemd/system"
    instance = units / "modbot@garden.service"
    shutil.copy(units / "modbot@.service", instance)
    for unit in (units / "modbot.service", instance):
        done = subprocess.run([str(ANALYZE), "verify", str(unit)], capture_output=True, text=True, timeout=60)
        problems = [line for line in done.stderr.splitlines() if unit.name in line]
        assert done.returncode == 0 and not problems, done.stderr


def test_exec_start_notifies_ready_pings_the_watchdog_and_drains_on_sigterm(tmp_path: Path) -> None:
    assert _install(tmp_path) == 0
    unit = (tmp_path / "etc/systemd/system/modbot.service").read_text().splitlines()
    command = shlex.split(next(line for line in unit if line.startswith("ExecStart=")).removeprefix("ExecStart="))
    data = tmp_path / "data"
    config = tmp_path / "modbot.toml"
    feed = tmp_path / "feed"
    feed.mkdir()
    (feed / "a.jsonl").write_text("".join(f'{{"id": "{i}", "text": "post {i}"}}\n' for i in range(50)))
    config.write_text(f'[adapters.console]\nsource = "{feed}"\nfollow = true\n')
    command[command.index("--config") + 1] = str(config)
    notify = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify))
    listener.settimeout(1)
    env = {
        **os.environ,
        "MODBOT_DATA_DIR": str(data),  # the unit's Environment=, pointed at a temporary folder
        "NOTIFY_SOCKET": str(notify),
        "WATCHDOG_USEC": "400000",
    }
    env.pop("MODBOT_DATABASE_URL", None)
    env.pop("MODBOT_CONFIG", None)
    service = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    messages: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while not any(m.startswith("READY=1") for m in messages):
            if service.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no READY=1: {service.stdout.read() if service.stdout else ''}")
            with contextlib.suppress(TimeoutError):
                messages.append(listener.recv(4096).decode())
        time.sleep(1.5)
        service.send_signal(signal.SIGTERM)
        code = service.wait(timeout=120)
        while True:
            try:
                messages.append(listener.recv(4096).decode())
            except (TimeoutError, BlockingIOError):
                break
    finally:
        if service.poll() is None:
            service.kill()
        listener.close()
    assert code == 0, service.stdout.read() if service.stdout else ""
    assert "STATUS=running: console" in messages[0]
    assert sum(m == "WATCHDOG=1" for m in messages) >= 2  # every 0.2 s for WatchdogSec=0.4 s
    assert any(m.startswith("STOPPING=1") for m in messages)
