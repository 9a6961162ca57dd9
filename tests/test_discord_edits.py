"""Edits through the fake Discord's raw MESSAGE_UPDATE: an edit of a message from before a restart
(not in discord.py's cache) is scored again and its case shows the earlier version; an update that
only fills in an embed is no edit; the same edit delivered twice is one revision."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage.records import REVISION
from bot.web.queries import revisions
from tests.test_discord import build_world, eventually, run, running
from tests.test_discord_effects import actions


def test_edits_of_uncached_messages_are_rescored_with_the_earlier_version_linked(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake
    sent: list[str] = []

    async def go() -> None:
        async with running(world, monkeypatch):
            message = await fake.user_says(world.general, world.bob, "what a lovely day")
            sent.append(message["id"])
            await eventually(lambda: world.store.decisions_for("discord", world.guild, [message["id"]]))
        async with running(world, monkeypatch):  # a new process: its cache has never seen the message
            unfurled = {**message, "embeds": [{"type": "link", "url": "https://example.org"}]}
            await fake.dispatch("MESSAGE_UPDATE", unfurled)  # Discord filling in an embed: no edit
            edited = await fake.user_edits(message["id"], "what a lovely day, fuck you all")
            await eventually(lambda: message["id"] in fake.deleted, what="the edited message to be removed")
            await fake.dispatch("MESSAGE_UPDATE", edited)  # the same edit again, as a replay delivers it
            await fake.user_says(world.general, world.bob, "a later message")  # handled after the replay
            await eventually(lambda: world.store.counts()["posts_decided"] == 3, what="the later message")

    run(go)
    case_id = next(a.case_id for a in actions(world) if a.case_id)
    case = world.store.case(case_id)
    assert case is not None and case.post.id.startswith(sent[0] + REVISION)
    [earlier] = revisions(world.store, case.post_row)  # one edit stored once, and the original
    assert earlier.text == "what a lovely day" and earlier.outcome == "allow"
