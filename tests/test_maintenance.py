"""Data care: SQLite online backup and restore, the retention purge and `modbot forget`, through the
CLI on the real store (SQLite, and PostgreSQL where the command applies to it)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.cli import main
from bot.storage.db import make_engine
from bot.storage.maintenance import MaintenanceError, backup
from tests.conftest import RULES_ONLY_TOML, SWEARING_FLAGGED


@pytest.fixture
def scanned(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MODBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MODBOT_DATABASE_URL", db_url)
    config = tmp_path / "modbot.toml"  # the pre-0.6 stack: swearing flagged, no models
    config.write_text(SWEARING_FLAGGED + RULES_ONLY_TOML)
    monkeypatch.setenv("MODBOT_CONFIG", str(config))
    feed = tmp_path / "feed.jsonl"
    posts = [
        {"id": "m1", "author": {"id": "u-mallory", "handle": "mallory"}, "text": "fuck you all"},
        {"id": "m2", "author": {"id": "u-mallory", "handle": "mallory"}, "text": "my number is 555-0100"},
        {"id": "b1", "author": {"id": "u-bob", "handle": "bob"}, "text": "shit, the tomatoes froze"},
        {"id": "b2", "author": {"id": "u-bob", "handle": "bob"}, "text": "good morning"},
    ]
    feed.write_text("".join(json.dumps(p) + "\n" for p in posts))
    assert main(["scan", str(feed)]) == 0
    return db_url


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql)).all()]
    engine.dispose()
    return rows


def _age(url: str, days: int) -> None:
    if url.startswith("postgresql"):
        sql = f"UPDATE posts SET received_at = received_at - INTERVAL '{days} days'"
    else:
        sql = f"UPDATE posts SET received_at = datetime(received_at, '-{days} days')"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


def test_retention_purges_old_text_of_closed_cases_only(scanned: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["retention", "purge"]) == 2  # no window configured
    _age(scanned, 40)
    assert main(["resolve", "2", "--approve"]) == 0  # b1's case closed; m1's stays open
    capsys.readouterr()
    assert main(["retention", "purge", "--days", "30", "--dry-run"]) == 0
    assert "would purge the text of 3 post(s)" in capsys.readouterr().out
    assert _rows(scanned, "SELECT count(*) FROM posts WHERE text IS NULL") == [(0,)]
    assert main(["retention", "purge", "--days", "30"]) == 0
    rows = dict(_rows(scanned, "SELECT platform_post_id, text FROM posts"))
    assert rows == {"m1": "fuck you all", "m2": None, "b1": None, "b2": None}  # m1's case is still open
    kept = _rows(scanned, "SELECT count(*) FROM decisions d JOIN posts p ON p.id = d.post_id WHERE p.text_sha256 <> ''")
    assert kept == [(4,)]  # decisions and hashes stay
    assert _rows(
        scanned,
        "SELECT normalised_text FROM decisions d JOIN posts p ON p.id = d.post_id WHERE p.platform_post_id = 'b1'",
    ) == [(None,)]
    [(reasons,)] = _rows(
        scanned, "SELECT d.reasons FROM decisions d JOIN posts p ON p.id = d.post_id WHERE p.platform_post_id = 'b1'"
    )
    assert "shit" not in str(reasons) and "erased with the post's text" in str(reasons)  # the evidence went too


def test_forget_erases_a_users_content_and_is_audited(scanned: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forget", "u-mallory", "--platform", "console", "--as", "dpo"]) == 0
    assert "2 post(s)" in capsys.readouterr().out
    rows = _rows(scanned, "SELECT platform_post_id, author_id, author_handle, text FROM posts ORDER BY id")
    mallory = [r for r in rows if r[0].startswith("m")]  # type: ignore[union-attr]
    assert all(r[1].startswith("forgotten:") and r[2] is None and r[3] is None for r in mallory)  # type: ignore[union-attr]
    assert len({r[1] for r in mallory}) == 1
    assert [r for r in rows if r[0] == "b2"] == [("b2", "u-bob", "bob", "good morning")]
    decisions = json.dumps(_rows(scanned, "SELECT * FROM decisions"), default=str)
    assert "555-0100" not in decisions and "fuck" not in decisions  # nor the evidence her reasons quoted
    [(actor, target, details)] = _rows(
        scanned, "SELECT actor, target_id, details FROM audit_log WHERE action = 'user.forget'"
    )
    assert actor == "dpo" and str(target).startswith("forgotten:") and "u-mallory" not in str(target)
    assert (json.loads(details) if isinstance(details, str) else details)["posts"] == 2
    assert main(["case", "1"]) == 0
    assert "forgotten:" in capsys.readouterr().out


def test_sqlite_backup_while_writing_and_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'modbot.db'}"
    monkeypatch.setenv("MODBOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MODBOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("MODBOT_CONFIG", raising=False)
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": str(i), "text": f"post {i}"}) + "\n" for i in range(200)))
    assert main(["scan", str(feed)]) == 0
    copy = tmp_path / "backup.db"
    writer = sqlite3.connect(tmp_path / "modbot.db")  # another connection holds a write open meanwhile
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE posts SET channel = 'changed'")
    assert main(["db", "backup", str(copy)]) == 0
    writer.rollback()
    writer.close()
    assert "backed up" in capsys.readouterr().out
    assert main(["db", "backup", str(copy)]) == 1  # never overwrites
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT count(*) FROM decisions").fetchone()[0] == 200
        assert db.execute("SELECT count(*) FROM posts WHERE channel = 'changed'").fetchone()[0] == 0
    more = tmp_path / "more.jsonl"
    more.write_text('{"id": "late", "text": "after the backup"}\n')
    assert main(["scan", str(more)]) == 0
    assert main(["db", "restore", str(copy)]) == 0
    assert _rows(url, "SELECT count(*) FROM posts") == [(200,)]
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    assert main(["db", "restore", str(junk)]) == 1
    assert "not a readable SQLite database" in capsys.readouterr().err
    assert _rows(url, "SELECT count(*) FROM posts") == [(200,)]


def test_postgresql_backup_points_to_pg_dump() -> None:
    with pytest.raises(MaintenanceError, match="pg_dump"):
        backup(make_engine("postgresql+psycopg://modbot@127.0.0.1:1/none"), Path("/tmp/never-written.db"))
