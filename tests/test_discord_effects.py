"""Exactly-once effects on Discord, through the fake: a send whose response is lost is not posted
twice, what is already so counts as done, actions wait for the session's guilds, a permanent
refusal fails at once with the permission it lacks (and runs once re-queued), and moderators'
verdicts follow the configured action mapping."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.review import Verdicts, resolve_case
from bot.runtime.wiring import planner
from bot.storage.records import ActionRecord, ActionState
from tests.test_discord import (
    BOT_PERMISSIONS,
    TOXIC,
    World,
    build_world,
    eventually,
    mod_messages,
    run,
    running,
    with_discord,
)

MODERATE_MEMBERS = 1 << 40


def actions(world: World) -> list[ActionRecord]:
    return [a for a, _ in world.store.actions_in(list(ActionState), 1000)]


def settled(world: World, kinds: set[str]) -> bool:
    """Every action of these kinds has run to its end (done or failed)."""
    found = [a for a in actions(world) if a.kind in kinds]
    return {a.kind for a in found} == kinds and all(a.state in (ActionState.DONE, ActionState.FAILED) for a in found)


def test_a_send_whose_response_is_lost_is_posted_once(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake

    async def go() -> None:
        async with running(world, monkeypatch):
            fake.lose_responses = 2  # the case post and the warning: both posted, both answers lost
            await fake.user_says(world.general, world.troll, TOXIC)
            await eventually(lambda: settled(world, {"alert", "warn"}), 60, what="the alert and the warning")

    run(go)
    warnings = [m for m in fake.messages.values() if m["channel_id"] in fake.dms]
    assert len(warnings) == 1 and len(mod_messages(world)) == 1
    lost = [c for c in fake.calls if c.method == "POST" and c.path.endswith("/messages") and c.status == 503]
    assert len(lost) == 2 and all(c.body["enforce_nonce"] for c in lost)
    nonces = {c.body["nonce"] for c in lost}
    repeats = [c for c in fake.calls if isinstance(c.body, dict) and c.body.get("nonce") in nonces]
    assert len(repeats) == 4  # each lost send was sent again by the executor, with the same nonce
    assert {a.kind: a.state for a in actions(world)}["warn"] == ActionState.DONE


def test_a_missing_permission_fails_at_once_and_runs_when_retried(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path, bot_permissions=BOT_PERMISSIONS & ~MODERATE_MEMBERS)
    fake = world.fake

    async def go() -> None:
        async with running(world, monkeypatch):
            await fake.user_says(world.general, world.troll, TOXIC)
            await eventually(lambda: settled(world, {"remove", "timeout"}), what="the removal and the timeout")
            [timeout] = [a for a in actions(world) if a.kind == "timeout"]
            assert timeout.state == ActionState.FAILED and timeout.attempts == 1  # not retried five times
            assert "Missing Permissions" in (timeout.result or "") and "Moderate Members" in (timeout.result or "")
            case = world.store.case(timeout.case_id or 0)
            assert case is not None and any("Moderate Members" in (a.result or "") for a in case.actions)
            await fake.grant(world.guild, MODERATE_MEMBERS)
            assert world.store.retry_actions(None, "kate", "cli") == [timeout.id]  # what `modbot actions retry` does
            await eventually(
                lambda: fake.members[(world.guild, world.troll)]["communication_disabled_until"], what="the timeout"
            )

    run(go)
    [timeout] = [a for a in actions(world) if a.kind == "timeout"]
    assert timeout.state == ActionState.DONE


def test_what_is_already_so_counts_as_done(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The troll posts while modbot is stopped and leaves before it is back: catch-up decides the
    post, the removal runs, and the timeout finds nobody to time out, which is done, not failed."""
    world = build_world(db_url, tmp_path)
    fake = world.fake

    async def go() -> None:
        async with running(world, monkeypatch):
            hello = await fake.user_says(world.general, world.bob, "hello")
            await eventually(lambda: world.store.decisions_for("discord", world.guild, [hello["id"]]))
        toxic = await fake.user_says(world.general, world.troll, TOXIC)
        await fake.leave(world.guild, world.troll)
        async with running(world, monkeypatch):
            await eventually(lambda: settled(world, {"remove", "timeout"}), 60, what="the caught-up post's actions")
            assert toxic["id"] in fake.deleted

    run(go)
    done = {a.kind: (a.state, a.result) for a in actions(world)}
    assert done["timeout"] == (ActionState.DONE, f"{world.troll} is not in the server any more: nothing to time out")


def test_actions_wait_for_the_gateway_instead_of_spending_their_attempts(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake
    seen_while_down: list[ActionRecord] = []

    async def go() -> None:
        async with running(world, monkeypatch):
            toxic = await fake.user_says(world.general, world.troll, TOXIC)
            await eventually(lambda: toxic["id"] in fake.deleted)
            await eventually(lambda: settled(world, {"alert", "remove", "timeout", "warn"}))
        case_id = next(a.case_id for a in actions(world) if a.case_id)
        verdicts = Verdicts(world.config.build_policy(), planner(world.config))
        resolve_case(world.store, verdicts, case_id, "ban", "kate", "cli")  # queued while modbot is stopped
        fake.gateway_open.clear()

        async def open_later() -> None:
            await asyncio.sleep(3)  # the service is up, logged in over REST, its gateway not yet connected
            seen_while_down.extend(a for a in actions(world) if a.kind == "ban")
            fake.gateway_open.set()

        opener = asyncio.create_task(open_later())
        async with running(world, monkeypatch):
            await eventually(lambda: (world.guild, world.troll) in fake.bans, what="the ban")
        await opener

    run(go)
    [ban] = seen_while_down
    assert ban.state == ActionState.PENDING and ban.attempts == 0
    assert {a.kind: a.state for a in actions(world)}["ban"] == ActionState.DONE


def test_a_moderators_verdict_follows_the_action_mapping(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    kinds = dict(world.config.adapters.discord.actions)
    with_discord(world, actions={**kinds, "ban": ["remove", "kick"]})  # this server kicks where others ban
    fake = world.fake

    async def go() -> None:
        async with running(world, monkeypatch):
            await fake.user_says(world.general, world.troll, TOXIC)
            await eventually(lambda: len(mod_messages(world)) == 1, what="the case")
            [alert] = mod_messages(world)
            button = alert["components"][0]["components"][3]["custom_id"]
            assert button.endswith(":ban")
            await fake.wait_callback(await fake.click(alert["id"], button, world.kate))
            await eventually(lambda: (world.guild, world.troll) in fake.kicks, what="the kick")

    run(go)
    assert not fake.bans
    assert "ban" not in {a.kind for a in actions(world)}


def test_refused_slash_commands_are_told_to_the_moderators(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    world.fake.refuse_commands = True

    async def go() -> None:
        async with running(world, monkeypatch):
            await eventually(
                lambda: any(m["channel_id"] == world.mod_channel for m in world.fake.messages.values()),
                what="a notice in the mod channel",
            )

    run(go)
    [notice] = [m for m in world.fake.messages.values() if m["channel_id"] == world.mod_channel]
    assert "could not register its slash commands" in notice["content"] and "Missing Access" in notice["content"]
