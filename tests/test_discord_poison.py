"""Poison through Discord: gateway payloads real servers send and the fake never did (nulls where
ids belong, objects where ids belong, missing fields, 5,000-digit ids, NUL and lone surrogates in
text), dispatched by the fake Discord to the unmodified discord.py client inside `modbot run`, on
SQLite and PostgreSQL. No payload stops the service; a message that can be stored is stored
cleaned and decided once; what cannot be read is in the quarantine with the event's name and why;
the good messages around them are decided exactly once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.storage.quarantine import QuarantineStore
from tests.conftest import decision_counts
from tests.fakes.discord_server import snowflake
from tests.test_discord import World, build_world, eventually, run, running

STORED, QUARANTINED, SKIPPED = "stored", "quarantined", "skipped"
Edit = Callable[[dict[str, Any]], None]


def _set(**fields: Any) -> Edit:
    return lambda m: m.update(fields)


def _member(**fields: Any) -> Edit:
    return lambda m: m["member"].update(fields)


def _author(**fields: Any) -> Edit:
    return lambda m: m.update(author={**m["author"], **fields})


MESSAGES: list[tuple[str, Edit, str]] = [
    ("text-surrogate-nul", _set(content="hello \ud800 there \x00 friend"), STORED),
    ("name-nul-no-global", _author(username="eve\x00\ud800", global_name=None), STORED),
    ("null-optional-fields", _set(edited_timestamp=None, nonce=None, webhook_id=None, referenced_message=None), STORED),
    ("thread-null", _set(thread=None), QUARANTINED),
    ("unknown-fields", _set(brand_new_field={"nested": [1, None]}, type=0), STORED),
    ("content-null", _set(content=None), STORED),
    ("edge-timestamp", _set(timestamp="9999-12-31T23:59:59-14:00"), STORED),
    ("roles-as-objects", _member(roles=[{"id": "1", "name": "x"}]), QUARANTINED),
    ("huge-id", _set(id="9" * 5000), QUARANTINED),
    ("mentions-null-entry", _set(mentions=[None]), STORED),
    ("embeds-object", _set(embeds={"title": "not a list"}), QUARANTINED),
    ("edited-not-a-time", _set(edited_timestamp="yesterday"), QUARANTINED),
]


def _events(world: World) -> list[tuple[str, str, dict[str, Any], str]]:
    """(name, event, payload, expected) for events other than messages."""
    gid = world.guild
    return [
        ("member-roles-objects", "GUILD_MEMBER_UPDATE", {"guild_id": gid, "user": world.fake.users[world.bob],
         "roles": [{"id": "5"}], "joined_at": None}, QUARANTINED),
        ("channel-no-position", "CHANNEL_CREATE", {"id": snowflake(), "guild_id": gid, "type": 0, "name": "new"},
         QUARANTINED),
        ("delete-null-id", "MESSAGE_DELETE", {"id": None, "channel_id": world.general, "guild_id": gid}, QUARANTINED),
        ("delete-object-id", "MESSAGE_DELETE", {"id": {"$oid": 1}, "channel_id": world.general}, QUARANTINED),
        ("unknown-event", "MODBOT_NEVER_HEARD_OF_IT", {"id": "1", "x": None}, SKIPPED),
        ("update-null-guild", "MESSAGE_UPDATE", {"id": snowflake(), "channel_id": world.general,
         "guild_id": None, "content": None}, QUARANTINED),
    ]  # fmt: skip


def test_no_gateway_payload_stops_the_service(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake
    stored_ids: list[str] = []
    good_ids: list[str] = []
    expected_quarantine = 0

    async def good(i: int) -> None:
        good_ids.append((await fake.user_says(world.general, world.bob, f"a normal message {i}"))["id"])

    async def go() -> None:
        nonlocal expected_quarantine
        async with running(world, monkeypatch):
            await good(0)
            for i, (_, edit, expected) in enumerate(MESSAGES):
                message = fake._message(world.general, fake.users[world.troll], "a poisoned message")
                message["member"] = {k: v for k, v in fake.members[(world.guild, world.troll)].items() if k != "user"}
                edit(message)
                await fake.dispatch("MESSAGE_CREATE", message)
                stored_ids.extend([message["id"]] if expected == STORED else [])
                expected_quarantine += expected == QUARANTINED
                await good(i + 1)
            for _, event, payload, expected in _events(world):
                await fake.dispatch(event, payload)
                expected_quarantine += expected == QUARANTINED
                await good(len(good_ids))
            await fake.user_says(world.general, world.troll, "shut the fuck up")  # still moderated
            await eventually(lambda: _stored(world) >= set(good_ids) | set(stored_ids), what="every good message")
            quarantine = QuarantineStore(world.store)
            await eventually(lambda: quarantine.count() >= expected_quarantine, what="the quarantine")

    run(go)
    assert _stored(world) == set(good_ids) | set(stored_ids) | _stored(world, "shut the fuck up")
    posts, decisions, twice = decision_counts(db_url)
    assert posts == decisions == len(good_ids) + len(stored_ids) + 1 and twice == 0
    items = QuarantineStore(world.store).latest(100)
    assert len(items) == expected_quarantine, [(e.item.position, e.item.reason) for e in items]
    assert all(e.item.platform == "discord" and e.item.reason and e.item.raw for e in items)
    events = sorted(e.item.position.split()[0] for e in items)
    assert events == sorted(
        ["MESSAGE_CREATE"] * sum(x == QUARANTINED for _, _, x in MESSAGES)
        + [ev for _, ev, _, x in _events(world) if x == QUARANTINED]
    )
    with world.store.engine.connect() as conn:
        texts = conn.execute(text("SELECT text FROM posts")).scalars().all()
    assert "hello \ufffd there \ufffd friend" in texts


def _stored(world: World, body: str | None = None) -> set[str]:
    query = "SELECT platform_post_id FROM posts" + (" WHERE text = :body" if body else "")
    with world.store.engine.connect() as conn:
        return set(conn.execute(text(query), {"body": body} if body else {}).scalars())
