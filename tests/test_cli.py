"""The README's first command and the moderator's CLI review loop, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.cli import main
from tests.conftest import RULES_ONLY_TOML, SWEARING_FLAGGED

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "sample-feed.jsonl"


def test_scan_sample_feed_prints_reasons_and_stores_decisions(tmp_path: Path) -> None:
    env = {**os.environ, "MODBOT_DATA_DIR": str(tmp_path)}
    env.pop("MODBOT_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "scan", str(SAMPLE)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "flag" in out and "allow" in out
    assert "profanity 1.00 ≥ 0.80 (profanity) → log" in out  # swearing alone is evidence, not a flag
    assert 'evidence: "b*llsh1t", "f*ck"' in out  # the evidence is what the user wrote, not the normalised text
    assert "skipped sample-feed.jsonl:26: not valid JSON" in done.stderr

    engine = create_engine(f"sqlite:///{tmp_path / 'modbot.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.platform_post_id, d.outcome, d.scores, d.reasons, d.scorer_versions, d.policy_version "
                "FROM posts p JOIN decisions d ON d.post_id = p.id"
            )
        ).all()
    engine.dispose()
    assert len(rows) == sum(1 for line in SAMPLE.read_text().splitlines() if line.strip()) - 1
    by_id = {r[0]: r for r in rows}
    assert by_id["demo-6"][1] == "log" and by_id["demo-1"][1] == "allow"
    assert '"profanity"' in by_id["demo-6"][2] and "f u c k" in by_id["demo-6"][3]
    assert "alt-profanity-check" in by_id["demo-6"][4] and by_id["demo-6"][5].startswith("p-")

    again = subprocess.run(
        [sys.executable, "-m", "bot.cli", "scan", str(SAMPLE)], env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0
    assert "0 decided now" in again.stdout  # nothing decided twice; the summary still covers the file


def swearing_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A data folder and a configuration that flags swearing (the review loop needs a flag that
    does not depend on the abuse model's reading) and leaves the models out."""
    monkeypatch.setenv("MODBOT_DATA_DIR", str(tmp_path))
    config = tmp_path / "modbot.toml"
    config.write_text(SWEARING_FLAGGED + RULES_ONLY_TOML)
    monkeypatch.setenv("MODBOT_CONFIG", str(config))


def test_queue_case_resolve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    swearing_flagged(tmp_path, monkeypatch)
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"id": "x1", "author": "mallory", "text": "<b>f*ck</b> [you](https://evil.example) [red]"}\n'
        '{"id": "x2", "author": "bob", "text": "good morning"}\n'
        '{"id": "x3", "author": {"id": "did:plc:abc123", "handle": "carol.test"}, "text": "fuck this"}\n'
    )
    assert main(["scan", str(feed)]) == 0
    capsys.readouterr()
    assert main(["queue"]) == 0
    listing = " ".join(capsys.readouterr().out.split())
    assert "mallory" in listing and "x2" not in listing
    assert "carol.test" in listing  # the handle a moderator knows, beside the DID
    assert main(["case", "2"]) == 0
    assert "by carol.test (did:plc:abc123)" in " ".join(capsys.readouterr().out.split())
    assert main(["resolve", "2", "--approve"]) == 0
    assert main(["case", "1"]) == 0
    case = capsys.readouterr().out
    assert "[red]" in case  # post text is shown literally, never interpreted as markup
    assert "profanity" in case and "policy p-" in case
    assert main(["resolve", "1", "--remove", "--note", "abusive", "--as", "kate"]) == 0
    assert "queued action remove" in capsys.readouterr().out
    assert main(["case", "1"]) == 0
    closed = capsys.readouterr().out
    assert "removed by kate" in closed and "audit" in closed and "abusive" in closed
    assert main(["resolve", "1", "--approve"]) == 1
    assert "already closed" in capsys.readouterr().err
    assert main(["case", "99"]) == 1
    assert main(["queue"]) == 0
    assert "no open cases" in capsys.readouterr().out
    # The queued removal is carried out by the next service run.
    assert main(["run", "--source", str(feed)]) == 0
    log = (tmp_path / "console-actions.jsonl").read_text()
    assert '"action": "remove"' in log and '"post_id": "x1"' in log


def test_escape_codes_in_posts_never_reach_the_moderators_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    swearing_flagged(tmp_path, monkeypatch)
    feed = tmp_path / "feed.jsonl"
    hostile = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZWNobyBoaQ==\x07 fuck you\r"  # clear, retitle, clipboard
    feed.write_text(json.dumps({"id": "e1", "author": "eve\x1b[31m", "text": hostile}) + "\n")
    assert main(["scan", str(feed)]) == 0
    for command in (["queue"], ["case", "1"]):
        capsys.readouterr()
        assert main(command) == 0
        shown = capsys.readouterr().out
        assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown, command
        assert "\\x1b" in shown  # made visible, not dropped


def test_database_that_cannot_be_opened_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODBOT_DATABASE_URL", "postgresql+psycopg://nobody:pw@127.0.0.1:9/none")
    assert main(["queue"]) == 1
    message = capsys.readouterr().err
    assert "cannot migrate postgresql+psycopg://nobody:***@127.0.0.1:9/none" in message
    assert "pw@" not in message


def test_live_bias_audit_reports_flag_and_override_rates_per_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    swearing_flagged(tmp_path, monkeypatch)
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"id": "1", "text": "as a muslim I love this fucking city"}\n'
        '{"id": "2", "text": "muslim families run the bakery on our street"}\n'
        '{"id": "3", "text": "good morning everyone"}\n'
    )
    assert main(["scan", str(feed)]) == 0
    assert main(["resolve", "1", "--approve", "--as", "kate"]) == 0
    capsys.readouterr()
    assert main(["eval", "live", "--out", str(tmp_path / "audit")]) == 0
    result = json.loads((tmp_path / "audit" / "live.json").read_text())
    assert result["all posts"]["posts"] == 3
    [muslim] = [r for r in result["per identity"] if r["identity"] == "muslim"]
    assert muslim["posts"] == 2 and muslim["flag_rate"] == 0.5 and muslim["override_rate"] == 1.0
