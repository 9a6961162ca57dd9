"""The quarantine on SQLite and PostgreSQL: raw bytes cut to QUARANTINE_BYTES with the size noted,
the same item stored once, purged with the retention window, and shown by `modbot quarantine`
with control characters made visible."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage.db import make_engine, upgrade
from bot.storage.quarantine import QuarantineStore
from bot.storage.schema import QUARANTINE_BYTES, utcnow
from bot.storage.store import Store
from moderation.types import Quarantined
from tests.conftest import own_data_dir

HUGE = Quarantined("console", "feed.jsonl", "line 7", "not JSON", b"x" * (QUARANTINE_BYTES * 3))
HOSTILE = Quarantined("bluesky", "wss://relay.example", "seq 42", "bad record \x1b[2J", b"\x1b]0;pwned\x07\xff\x00")


def test_items_are_kept_once_cut_to_size_and_purged(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    quarantine = QuarantineStore(Store(engine))
    assert quarantine.put([HUGE, HOSTILE, HUGE]) == 2
    assert quarantine.put([HUGE]) == 0  # a restart re-reading the chunk
    newest, oldest = quarantine.latest(10)
    assert newest.item == HOSTILE and newest.raw_size == len(HOSTILE.raw)
    assert len(oldest.item.raw) == QUARANTINE_BYTES and oldest.raw_size == QUARANTINE_BYTES * 3
    assert [e.item.platform for e in quarantine.latest(10, "console")] == ["console"]
    assert quarantine.purge_before(utcnow() - timedelta(days=1)) == 0
    assert quarantine.purge_before(utcnow() + timedelta(seconds=1)) == 2 and quarantine.count() == 0
    engine.dispose()


def test_the_command_shows_items_with_controls_made_visible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    own_data_dir(monkeypatch, tmp_path)
    assert main(["quarantine"]) == 0
    assert "nothing in quarantine" in capsys.readouterr().out
    engine = make_engine(f"sqlite:///{tmp_path / 'modbot.db'}")
    QuarantineStore(Store(engine)).put([HOSTILE])
    engine.dispose()
    assert main(["quarantine", "--raw"]) == 0
    shown = capsys.readouterr().out
    assert "seq 42" in shown and "\\x1b" in shown and "\x1b" not in shown and "\x07" not in shown
