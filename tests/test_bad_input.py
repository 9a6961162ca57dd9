"""Hostile and broken input: each line gets a decision or a clear per-line error, and no bad line
stops the run or costs the lines around it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bot.config import Config
from bot.runtime.service import run_service
from moderation.types import Outcome


def _line(pid: str, text: str) -> bytes:
    return json.dumps({"id": pid, "author": "u", "text": text}).encode() + b"\n"


BAD_LINES: list[tuple[str, bytes, str | None]] = [
    # (name, line, expected error fragment or None when a decision is expected)
    ("empty_text", _line("empty_text", ""), None),
    ("huge", _line("huge", ("Lovely weather today, see you all at the meetup. " * 2_000) + "fuck you"), None),
    ("zalgo", _line("zalgo", "f̷̢̛u̸̡c̵̨k̶̢ ̴y̷o̸u̵" * 3), None),
    ("rtl", _line("rtl", "hello \u202ekcuf\u202c world"), None),
    ("surrogate", b'{"id": "surrogate", "text": "lone \\ud800 half"}\n', None),
    ("nul", b'{"id": "nul", "text": "nul\\u0000byte"}\n', None),
    ("blank", b"   \n", None),
    ("binary", bytes(b for b in range(255, -1, -1) if b != 10) + b"\n", "not valid UTF-8"),
    ("invalid_utf8", b'{"id": "x", "text": "caf\xe9"}\n', "not valid UTF-8"),
    ("truncated", b'{"id": "t", "text": "unterminated\n', "not valid JSON"),
    ("array", b'["not", "an", "object"]\n', "expected a JSON object"),
    ("no_text", b'{"id": "nt"}\n', '"text" is required'),
    ("text_number", b'{"id": "tn", "text": 42}\n', '"text" must be a string'),
    ("deep", b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested too deeply"),
    ("bad_time", b'{"id": "bt", "text": "x", "created_at": "yesterday"}\n', "not an ISO 8601 time"),
    ("bad_author", b'{"id": "ba", "text": "x", "author": {"handle": "h"}}\n', '"author.id" is required'),
]


def test_each_bad_line_is_handled_and_neighbours_survive(db_url: str, tmp_path: Path) -> None:
    feed = tmp_path / "hostile.jsonl"
    with feed.open("wb") as f:
        for i, (_, line, _) in enumerate(BAD_LINES):
            f.write(_line(f"good-{i}", "a perfectly normal post"))
            f.write(line)
        f.write(_line("good-last", "the end"))
        f.write(b'{"id": "no-newline-at-end", "text": "still read"}')
    config = Config.model_validate({"database": {"url": db_url}, "data": {"dir": str(tmp_path)}})
    report = asyncio.run(run_service(config, console_source=str(feed), keep_decisions=True))
    stats = report.ingest[str(feed)]
    decided = {d.post.id: d for d in report.decided}
    errors = {e.line: e.message for e in stats.errors}

    goods = [f"good-{i}" for i in range(len(BAD_LINES))] + ["good-last", "no-newline-at-end"]
    assert all(g in decided for g in goods), "a bad line cost a neighbouring good line"
    for i, (name, _, expected_error) in enumerate(BAD_LINES):
        line_no = 2 * i + 2
        if expected_error is None and name != "blank":
            assert name in decided, f"{name}: no decision"
            assert line_no not in errors
        elif expected_error is not None:
            assert expected_error in errors[line_no], f"{name}: {errors.get(line_no)}"
    for name in ("huge", "zalgo"):  # the swearing at the end, or under the zalgo, is seen
        reasons = decided[name].decision.reasons
        assert any(r.category == "profanity" and r.outcome is not Outcome.ALLOW for r in reasons), reasons
    assert decided["empty_text"].decision.outcome is Outcome.ALLOW
    assert decided["nul"].post.text == "nul\ufffdbyte"  # decided as stored: PostgreSQL holds no NUL


def test_oversized_and_overlong_posts_get_a_clear_error(db_url: str, tmp_path: Path) -> None:
    feed = tmp_path / "big.jsonl"
    with feed.open("wb") as f:
        f.write(_line("before", "hi"))
        f.write(_line("too-long", "x" * 1500))
        f.write(b'{"text": "' + b"y" * 80_000 + b'"}\n')  # over the byte limit for a line
        f.write(_line("after", "bye"))
    config = Config.model_validate(
        {"database": {"url": db_url}, "data": {"dir": str(tmp_path)}, "pipeline": {"max_post_chars": 1000}}
    )
    report = asyncio.run(run_service(config, console_source=str(feed), keep_decisions=True))
    stats = report.ingest[str(feed)]
    assert {d.post.id for d in report.decided} == {"before", "after"}
    messages = [e.message for e in stats.errors]
    assert any("over pipeline.max_post_chars (1000)" in m for m in messages)
    assert any("line longer than" in m for m in messages)


def test_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    config = Config.model_validate(
        {"database": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"}, "data": {"dir": str(tmp_path)}}
    )
    report = asyncio.run(run_service(config, console_source=str(tmp_path / "nope.jsonl")))
    assert report.errors and "does not exist" in report.errors[0]
