"""The quarantine on SQLite and PostgreSQL: raw bytes cut to QUARANTINE_BYTES with the size noted,
the same item stored once, purged with the retention window, and shown by `modbot quarantine`
and the dashboard (moderators and admins only) with control characters made visible."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.cli import main
from bot.storage.db import make_engine, upgrade
from bot.storage.quarantine import QuarantineStore
from bot.storage.schema import QUARANTINE_BYTES, utcnow
from bot.storage.store import Store
from bot.web.accounts import Accounts
from moderation.types import Quarantined
from tests.conftest import own_data_dir
from tests.test_dashboard import login, run

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


MARKUP = Quarantined("discord", "gateway", "message 9", "conversion failed", b"<script>alert(1)</script>\x1b[31m\xfe")


def test_the_dashboard_shows_items_escaped_to_moderators_only(store: Store, accounts: Accounts) -> None:
    QuarantineStore(store).put([HOSTILE, MARKUP])

    async def test(client: TestClient) -> None:
        await login(client, "vic")
        assert (await client.get("/quarantine")).status == 403
        assert (await client.get("/api/quarantine")).status == 403
        await client.post("/logout", data={"csrf": (await (await client.get("/api/me")).json())["csrf"]})
        await login(client, "kate")
        page = await (await client.get("/quarantine")).text()
        assert "2 items held" in page and "seq 42" in page and "message 9" in page
        assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[31m\\xfe" in page
        assert "\x1b" not in page and "\x07" not in page
        only = await (await client.get("/quarantine?platform=bluesky")).text()
        assert "seq 42" in only and "message 9" not in only
        api = await (await client.get("/api/quarantine")).json()
        assert api["total"] == 2 and [i["position"] for i in api["items"]] == ["message 9", "seq 42"]
        assert api["items"][1]["raw"] == "\\x1b]0;pwned\\x07\\xff\\x00"

    run(store, test)
