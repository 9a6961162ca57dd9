"""Catch-up after a gap, through the fake Discord: messages posted while modbot was stopped, or while
its gateway session could not be resumed, are read back from channel history and each decided once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from discord.utils import time_snowflake

from bot.adapters.discord.catch_up import start_after
from tests.test_discord import TOXIC, build_world, eventually, run, running, with_discord


def test_messages_posted_while_stopped_are_decided_once_on_start(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake
    sent: list[str] = []

    async def go() -> None:
        async with running(world, monkeypatch):
            first = await fake.user_says(world.general, world.bob, "before the stop")
            await eventually(lambda: len(world.store.decisions_for("discord", world.guild, [first["id"]])) == 1)
        for i in range(49):  # modbot is stopped: these never arrive as gateway events
            sent.append((await fake.user_says(world.general, world.bob, f"while away {i}"))["id"])
        toxic = await fake.user_says(world.general, world.troll, TOXIC)
        sent.append(toxic["id"])
        async with running(world, monkeypatch) as service:
            await eventually(
                lambda: len(world.store.decisions_for("discord", world.guild, sent)) == 50,
                60,
                what="the 50 missed messages decided",
            )
            await eventually(lambda: toxic["id"] in fake.deleted, what="the missed abuse removed")
        assert service.result().handled == 50  # what the exit line reports

    run(go)
    assert world.store.counts()["posts_decided"] == 51  # nothing decided twice


def test_a_session_that_cannot_resume_misses_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake
    sent: list[str] = []

    async def go() -> None:
        async with running(world, monkeypatch):
            sent.append((await fake.user_says(world.general, world.bob, "hello"))["id"])
            await eventually(lambda: len(world.store.decisions_for("discord", world.guild, sent)) == 1)
            fake.refuse_resume = True
            fake.gateway_open.clear()
            await fake.drop(4000)
            for i in range(20):  # the new session replays nothing: only history has these
                sent.append((await fake.user_says(world.general, world.bob, f"during the drop {i}"))["id"])
            fake.gateway_open.set()
            await eventually(lambda: fake.identify_count == 2, what="a fresh IDENTIFY")
            await eventually(
                lambda: len(world.store.decisions_for("discord", world.guild, sent)) == 21,
                60,
                what="every message decided",
            )

    run(go)
    assert world.store.counts()["posts_decided"] == 21


def test_catch_up_is_bounded_and_reaches_channels_made_while_away(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = build_world(db_url, tmp_path)
    with_discord(world, catch_up_messages=10)
    fake = world.fake

    async def go() -> None:
        async with running(world, monkeypatch):
            first = await fake.user_says(world.general, world.bob, "before the stop")
            await eventually(lambda: len(world.store.decisions_for("discord", world.guild, [first["id"]])) == 1)
        flood = [(await fake.user_says(world.general, world.bob, f"flood {i}"))["id"] for i in range(15)]
        new_channel = fake.add_channel(world.guild, "made-while-away")
        fresh = (await fake.user_says(new_channel, world.bob, "first post in a new channel"))["id"]
        async with running(world, monkeypatch):
            await eventually(
                lambda: len(world.store.decisions_for("discord", world.guild, [*flood[:10], fresh])) == 11,
                60,
                what="the oldest 10 of the flood and the new channel's post decided",
            )
        assert world.store.decisions_for("discord", world.guild, flood[10:]) == {}

    run(go)
    assert any("catch_up_messages" in r.message for r in caplog.records)


@pytest.mark.parametrize(
    ("stored", "fallback", "hours", "expected"),
    [
        (None, None, 24, None),  # modbot was never here
        (None, "recent", 24, "recent"),  # a channel made while away starts where the guild stopped
        ("recent", "newer", 24, "recent"),  # the channel's own position wins
        ("ancient", None, 24, "window"),  # never further back than the window
        ("recent", None, 0, None),  # catch-up off
    ],
)
def test_where_catch_up_starts(stored: str | None, fallback: str | None, hours: float, expected: str | None) -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    ids = {
        "ancient": time_snowflake(now - timedelta(days=30)),
        "recent": time_snowflake(now - timedelta(hours=2)),
        "newer": time_snowflake(now - timedelta(hours=1)),
        "window": time_snowflake(now - timedelta(hours=24)),
    }
    got = start_after(ids.get(stored or ""), ids.get(fallback or ""), hours, now)
    assert got == (ids[expected] if expected else None)
