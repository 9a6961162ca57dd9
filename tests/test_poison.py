"""Poison input: values that once stopped ingest for good (a 5,000-digit integer, a lone surrogate
or NUL in any field, a time at the edge of the calendar), through the console adapter onto SQLite
and PostgreSQL, and through the cleaning every adapter's posts pass at the store's door."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.adapters.bluesky.convert import RecordError, post_from_record
from bot.config import Config
from bot.runtime.service import run_service
from bot.storage.quarantine import QuarantineEntry, QuarantineStore
from moderation.cleaning import clean_text, storable, usable_time
from moderation.types import Author, Post
from tests.conftest import RULES_ONLY, decision_counts

LONE = "\ud800"
FIELDS = ("id", "community", "channel", "reply_to", "text")


def _poison() -> list[tuple[str, str, bool]]:
    """(name, JSON line, whether the post is stored) for every kind."""
    lines: list[tuple[str, str, bool]] = []
    for field in FIELDS:
        for name, bad in (("surrogate", "\\ud800"), ("nul", "\\u0000"), ("pair", "\\ud83d\\ude00")):
            body = {"id": f"{field}-{name}", "author": "u", "text": "hello"}
            line = json.dumps(body)[:-1] + f', "{field}": "x{bad}y"' + "}"
            kept = not (name == "nul" and field == "id")  # the adapter's id rule refuses controls
            lines.append((f"{field}-{name}", line, kept))
    lines.append(("handle", '{"id": "handle", "text": "hi", "author": {"id": "a", "handle": "h\\ud800"}}', True))
    lines.append(("author-id", '{"id": "author-id", "text": "hi", "author": {"id": "a\\ud800"}}', True))
    lines.append(("links", '{"id": "links", "text": "hi", "links": ["https://x.example/\\ud800\\u0000"]}', True))
    lines.append(("mentions", '{"id": "mentions", "text": "hi", "mentions": ["m\\u0000"]}', True))
    lines.append(("roles", '{"id": "roles", "text": "hi", "author": {"id": "r", "roles": ["r\\u0000"]}}', True))
    lines.append(("huge-int", '{"id": "huge-int", "text": "hi", "ignored": %s}' % ("9" * 5000), False))
    for i, when in enumerate(("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", 1e18)):
        lines.append((f"edge-time-{i}", json.dumps({"id": f"edge-time-{i}", "text": "hi", "created_at": when}), i < 2))
    return lines


def test_no_poison_stops_ingest_and_every_neighbour_is_decided_once(db_url: str, tmp_path: Path) -> None:
    poison = _poison()
    feed = tmp_path / "poison.jsonl"
    with feed.open("w", encoding="utf-8") as f:
        for i, (_, line, _) in enumerate(poison):
            f.write(json.dumps({"id": f"good-{i}", "author": "u", "text": "a normal post"}) + "\n")
            f.write(line + "\n")
    config = Config.model_validate({"database": {"url": db_url}, "data": {"dir": str(tmp_path)}, "scorers": RULES_ONLY})
    report = asyncio.run(run_service(config, console_source=str(feed), keep_decisions=True))
    decided = [d.post.id for d in report.decided]
    assert all(f"good-{i}" in decided for i in range(len(poison))), "a poison line cost a neighbour"
    kept = [name for name, _, stored in poison if stored]
    assert len(decided) == len(poison) + len(kept), sorted(decided)
    stats = report.ingest[str(feed)]
    assert len(stats.errors) == len(poison) - len(kept), [e.message for e in stats.errors]
    assert decision_counts(db_url) == (len(decided), len(decided), 0)
    quarantined = _quarantined(config)
    refused = {f"line {2 * i + 2}" for i, (_, _, stored) in enumerate(poison) if not stored}
    assert {e.item.position for e in quarantined} == refused  # every bad line, with why and its bytes
    assert all(e.item.reason and e.item.raw and e.item.source == feed.name for e in quarantined)
    huge = next(e for e in quarantined if b"9999" in e.item.raw)
    assert huge.raw_size == len(huge.item.raw) > 5000  # under QUARANTINE_BYTES: kept whole
    again = asyncio.run(run_service(config, console_source=str(feed), keep_decisions=True))
    assert again.decided == []  # a restart moves past every line and decides nothing twice
    assert len(_quarantined(config)) == len(quarantined)  # and quarantines nothing twice


def _quarantined(config: Config) -> list[QuarantineEntry]:
    from bot.runtime.wiring import open_store

    store = open_store(config)
    try:
        return QuarantineStore(store).latest(1000)
    finally:
        store.engine.dispose()


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain", "plain"),
        (f"a{LONE}b", "a\ufffdb"),
        ("nul\x00", "nul\ufffd"),
        ("\ud83d\ude00", "😀"),  # a pair that arrived as two code points is one character again
        ("\x1b[2J kept", "\x1b[2J kept"),  # terminal controls are escaped where shown, not here
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean
    clean_text(raw).encode("utf-8")  # always encodable


@pytest.mark.parametrize(
    ("when", "usable"),
    [
        (datetime(2026, 1, 1, tzinfo=UTC), True),
        (datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14))), False),
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), False),
        (datetime(1960, 1, 1, tzinfo=UTC), False),
        (datetime(2026, 1, 1), True),  # naive: taken as UTC
    ],
)
def test_usable_time(when: datetime, usable: bool) -> None:
    assert (usable_time(when) is not None) is usable


def test_a_post_with_an_unusable_time_is_kept_at_the_time_it_arrived() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    edge = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14)))
    post = Post("p", "c\x00", "g", "1", Author(f"a{LONE}", roles=("r\x00",)), "t", edge, links=(f"l{LONE}",))
    clean = storable(post, now)
    assert clean.created_at == now and not clean.time_known
    assert (clean.community, clean.author.id, clean.author.roles, clean.links) == (
        "c\ufffd",
        "a\ufffd",
        ("r\ufffd",),
        ("l\ufffd",),
    )


GOOD_RECORD: dict[str, object] = {
    "$type": "app.bsky.feed.post",
    "text": "hello world",
    "createdAt": "2026-11-29T10:00:00Z",
    "langs": ["en"],
    "reply": {"root": {"uri": "at://did:plc:a/app.bsky.feed.post/1", "cid": "c1"},
              "parent": {"uri": "at://did:plc:a/app.bsky.feed.post/2", "cid": "c2"}},
    "facets": [{"features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://x.example"}]}],
    "embed": {"$type": "app.bsky.embed.images", "images": [{"alt": "a cat", "image": {}}]},
}  # fmt: skip
ODD_VALUES: list[object] = [None, 0, -1, 10**5000, 1e308, float("nan"), True, "", LONE, "\x00", "x" * 300, [], [None],
                            {}, {"$type": 7}, {"uri": 5, "cid": None}, "9999-12-31T23:59:59-14:00",
                            "0001-01-01T00:00:00+14:00", "not a time"]  # fmt: skip


def _mutations(record: object, rng: random.Random, depth: int = 0) -> object:
    """The record with some values anywhere in it swapped for odd ones (a PDS stores what a client
    sends when validation is off)."""
    if isinstance(record, dict):
        return {k: (rng.choice(ODD_VALUES) if rng.random() < 0.2 else _mutations(v, rng, depth + 1))
                for k, v in record.items()}  # fmt: skip
    if isinstance(record, list):
        return [rng.choice(ODD_VALUES) if rng.random() < 0.2 else _mutations(v, rng, depth + 1) for v in record]
    return record


def test_a_bluesky_record_becomes_a_storable_post_or_a_record_error() -> None:
    """Fuzzed records through the Bluesky converter: each is a post that the store's door makes
    storable, or a RecordError with its reason for the quarantine; nothing else escapes (any other
    exception would skip the whole firehose frame, good posts in it too)."""
    rng = random.Random(17)
    outcomes = {"post": 0, "refused": 0}
    now = datetime.now(UTC)
    for _ in range(2000):
        record = _mutations(GOOD_RECORD, rng)
        assert isinstance(record, dict)
        try:
            post = post_from_record("did:plc:bob", "3k", "cid", record, "alice.test")
        except RecordError as exc:
            assert str(exc)
            outcomes["refused"] += 1
            continue
        kept = storable(post, now)
        for value in (kept.text, kept.channel, kept.reply_to or "", *kept.links, *kept.mentions):
            assert "\x00" not in value and not any("\ud800" <= ch <= "\udfff" for ch in value)
        assert usable_time(kept.created_at) is not None
        outcomes["post"] += 1
    assert outcomes["post"] > 500 and outcomes["refused"] > 200, outcomes
