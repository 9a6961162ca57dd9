"""The Discord adapter end to end: the unmodified discord.py client against the in-suite fake
Discord (tests/fakes/discord_server.py: a real websocket gateway and real HTTP on 127.0.0.1),
with the real pipeline, scorers and database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.assistant.writer import GeneratorFactory, local_generator
from bot.cli import main
from bot.config import Config
from bot.runtime.service import RunReport, run_service
from bot.storage.db import make_engine
from bot.storage.store import Store
from tests.conftest import RULES_ONLY
from tests.fakes.discord_server import FakeDiscord, RateLimit

BOT_PERMISSIONS = (1 << 1) | (1 << 2) | (1 << 10) | (1 << 11) | (1 << 13) | (1 << 14) | (1 << 16) | (1 << 40)
MANAGE_MESSAGES = 1 << 13
TOXIC = "shut the fuck up you worthless piece of shit"


@dataclass
class World:
    fake: FakeDiscord
    guild: str
    general: str
    mod_channel: str
    kate: str  # moderator by role
    bob: str  # regular member
    troll: str
    store: Store
    config: Config
    generator: GeneratorFactory = local_generator


def build_world(db_url: str, tmp_path: Path, bot_permissions: int = BOT_PERMISSIONS, **policy: Any) -> World:
    fake = FakeDiscord()
    guild = fake.add_guild("Test Server", bot_permissions)
    general = fake.add_channel(guild, "general")
    mod_channel = fake.add_channel(guild, "mod-log")
    mods = fake.add_role(guild, "Moderators")
    kate, bob, troll = "2001", "2002", "2003"
    fake.add_member(guild, kate, "kate", roles=[mods])
    fake.add_member(guild, bob, "bob")
    fake.add_member(guild, troll, "troll")
    config = Config.model_validate(
        {
            "data": {"dir": str(tmp_path)},
            "database": {"url": db_url},
            "adapters": {
                "console": {"enabled": False},
                "discord": {
                    "enabled": True,
                    "api_url": "http://placeholder",
                    "gateway_url": "ws://placeholder",
                    "guilds": {guild: {"mod_channel": mod_channel, "moderator_roles": ["Moderators"]}},
                },
            },
            "policy": {"thresholds": {"profanity": {"timeout": 0.9}}, **policy},
            "scorers": RULES_ONLY,
            "executor": {"backoff_seconds": 0.05},
            "logging": {"level": "warning"},
        }
    )
    return World(fake, guild, general, mod_channel, kate, bob, troll, Store(make_engine(db_url)), config)


def with_discord(world: World, **update: object) -> None:
    """The world's `[adapters.discord]` with these settings changed."""
    discord_cfg = world.config.adapters.discord.model_copy(update=update)
    world.config = world.config.model_copy(
        update={"adapters": world.config.adapters.model_copy(update={"discord": discord_cfg})}
    )


@asynccontextmanager
async def running(world: World, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The fake Discord and `modbot run` (the real service), until the block ends with SIGTERM."""
    if not world.fake.port:
        await world.fake.start()
    with_discord(world, api_url=world.fake.api_url, gateway_url=world.fake.gateway_url)
    monkeypatch.setenv("MODBOT_DISCORD_TOKEN", world.fake.token)
    commands_before = len(world.fake.calls)
    stop = asyncio.Event()
    service = asyncio.create_task(run_service(world.config, stop_request=stop, generator=world.generator))
    await eventually(
        lambda: (
            any(c.path.endswith(f"/guilds/{world.guild}/commands") for c in world.fake.calls[commands_before:])
            or service.done()
        ),
        60,
    )
    if service.done():
        service.result()
    try:
        yield service
    finally:
        stop.set()
        report: RunReport = await asyncio.wait_for(service, 60)
        assert not report.errors, report.errors


async def eventually(predicate: Callable[[], Any], timeout: float = 30, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def mod_messages(world: World) -> list[dict[str, Any]]:
    return [m for m in world.fake.messages.values() if m["channel_id"] == world.mod_channel and m.get("embeds")]


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coro())


def test_toxic_message_is_removed_timed_out_warned_and_reviewed(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake

    async def go() -> None:
        async with running(world, monkeypatch):
            assert fake.intents is not None and fake.intents & (1 << 15)  # message content intent
            hello = await fake.user_says(world.general, world.bob, "good morning everyone")
            toxic = await fake.user_says(world.general, world.troll, TOXIC)
            await eventually(lambda: toxic["id"] in fake.deleted, what="the toxic message to be deleted")
            await eventually(lambda: len(mod_messages(world)) == 1, what="the case in the mod channel")
            await eventually(
                lambda: fake.members[(world.guild, world.troll)]["communication_disabled_until"], what="the timeout"
            )
            assert hello["id"] not in fake.deleted
            [alert] = mod_messages(world)
            embed = alert["embeds"][0]
            assert embed["title"].startswith("Case ") and "timeout" in embed["title"]
            assert "**__fuck__**" in embed["description"]  # evidence marked
            why = next(f["value"] for f in embed["fields"] if f["name"] == "Why")
            assert "profanity" in why and "≥ 0.90" in why
            ids = [c["custom_id"] for row in alert["components"] for c in row["components"]]
            case_id = int(ids[0].split(":")[2])
            assert ids == [f"modbot:case:{case_id}:{v}" for v in ("approve", "remove", "timeout", "ban", "escalate")]
            await eventually(
                lambda: any(
                    "/channels/" in c.path
                    and c.method == "POST"
                    and c.body.get("content", "").startswith("Your message in")
                    for c in fake.calls
                ),
                what="the warning",
            )

            # A button press by a member without Manage Messages or the moderator role is refused.
            refused = await fake.click(alert["id"], f"modbot:case:{case_id}:ban", world.bob)
            reply = await fake.wait_callback(refused)
            assert reply["type"] == 4 and reply["data"]["flags"] & 64 and "Only moderators" in reply["data"]["content"]
            assert world.store.case(case_id).state == "open"  # type: ignore[union-attr]

            # A moderator's press resolves the case, updates the embed and carries out the verdict.
            pressed = await fake.click(alert["id"], f"modbot:case:{case_id}:ban", world.kate)
            update = await fake.wait_callback(pressed)
            assert update["type"] == 7
            fields = {f["name"]: f["value"] for f in update["data"]["embeds"][0]["fields"]}
            assert "removed by discord:2001 (kate)" in fields["Resolved"]
            assert all(c["disabled"] for row in update["data"]["components"] for c in row["components"])
            await eventually(lambda: (world.guild, world.troll) in fake.bans, what="the ban")
            case = world.store.case(case_id)
            assert case is not None and case.state == "closed" and case.resolution == "removed"
            assert [a.action for a in case.audit] == ["case.refused", "case.removed"]
            assert case.audit[1].actor == "discord:2001 (kate)"
            assert sorted(a.kind for a in case.actions) == ["alert", "ban", "remove", "timeout", "warn"]
            deletes = [c for c in fake.calls if c.method == "DELETE" and c.path.endswith(toxic["id"])]
            assert len(deletes) == 1  # the verdict's removal was not repeated

    run(go)


def test_edit_is_rescored_and_dm_closed_warning_goes_to_the_channel(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake
    fake.dm_closed.add(world.bob)

    async def go() -> None:
        async with running(world, monkeypatch):
            message = await fake.user_says(world.general, world.bob, "what a lovely day")
            await eventually(lambda: len(world.store.decisions_for("discord", world.guild, [message["id"]])) == 1)
            assert message["id"] not in fake.deleted
            await fake.user_edits(message["id"], "what a lovely day, fuck you all")
            await eventually(lambda: message["id"] in fake.deleted, what="the edited message to be removed")
            await eventually(
                lambda: any(
                    c.method == "POST"
                    and c.path == f"/channels/{world.general}/messages"
                    and c.body["content"].startswith(f"<@{world.bob}>")
                    for c in fake.calls
                ),
                what="the in-channel warning",
            )

    run(go)
    decisions = world.store.counts()
    assert decisions["posts_decided"] == 2


def test_gateway_reconnects_and_drops_lose_no_message(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake
    sent: list[str] = []

    async def go() -> None:
        async with running(world, monkeypatch):
            for i in range(30):
                sent.append((await fake.user_says(world.general, world.bob, f"message number {i}"))["id"])
                if i == 9:
                    await fake.reconnect()  # op 7: the client RESUMEs
                if i == 19:
                    await eventually(lambda: fake.resume_count == 1, what="the first RESUME")
                    await fake.drop(4000)  # the socket dies; messages keep coming while it is away
            await eventually(lambda: fake.resume_count >= 2, what="two RESUMEs")
            await eventually(
                lambda: len(world.store.decisions_for("discord", world.guild, sent)) == 30,
                30,
                what="every message decided",
            )

    run(go)
    assert fake.identify_count == 1
    assert world.store.counts()["posts_decided"] == 30


def test_burst_of_actions_against_rate_limits_completes_exactly_once(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake
    # 5 per second per route: slow enough that a loaded CI machine still runs into it
    fake.rate_limit = RateLimit(limit=5, window=1.0, announce=False)
    toxic_ids: list[str] = []

    async def go() -> None:
        async with running(world, monkeypatch):
            for i in range(50):  # 50 x (remove, timeout, warn, alert) = 200 actions
                toxic_ids.append((await fake.user_says(world.general, world.troll, f"{TOXIC} {i}"))["id"])
            await eventually(lambda: _action_states(world) == {"done": 200}, 120, what="200 actions done")

    run(go)
    assert fake.rate_limit.rejected > 0, "the fake never rate limited: the test proves nothing"
    assert sorted(fake.deleted) == sorted(toxic_ids)
    assert len(mod_messages(world)) == 50


def _action_states(world: World) -> dict[str, int]:
    with world.store.engine.connect() as conn:
        rows = conn.execute(text("SELECT state, count(*) FROM actions GROUP BY state")).all()
    return {state: n for state, n in rows}


def test_buttons_keep_working_after_a_restart(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake

    async def go() -> None:
        async with running(world, monkeypatch):
            await fake.user_says(world.general, world.troll, TOXIC)
            await eventually(lambda: len(mod_messages(world)) == 1)
        [alert] = mod_messages(world)
        custom_id = alert["components"][0]["components"][0]["custom_id"]  # approve
        case_id = int(custom_id.split(":")[2])
        async with running(world, monkeypatch):  # a new process would see the same: nothing in memory
            pressed = await fake.click(alert["id"], custom_id, world.kate)
            update = await fake.wait_callback(pressed)
            assert update["type"] == 7
        case = world.store.case(case_id)
        assert case is not None and case.resolution == "approved"

    run(go)
    assert fake.identify_count == 2


def test_slash_commands_shadow_mode_and_context_menu(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake

    def sub(name: str, **options: Any) -> dict[str, Any]:
        opts = [{"name": k, "type": 3, "value": v} for k, v in options.items()]
        return {"name": "modbot", "type": 1, "options": [{"name": name, "type": 1, "options": opts}]}

    async def go() -> None:
        async with running(world, monkeypatch):
            names = {c["name"]: c for c in fake.commands[world.guild]}
            assert set(names) == {"modbot", "Check with modbot"}
            assert int(names["modbot"]["default_member_permissions"]) == MANAGE_MESSAGES

            denied = await fake.wait_callback(await fake.command(world.general, world.bob, sub("queue")))
            assert "for moderators" in denied["data"]["content"]

            shadow = await fake.wait_callback(await fake.command(world.general, world.kate, sub("shadow", state="on")))
            assert "Shadow mode is on" in shadow["data"]["content"]
            toxic = await fake.user_says(world.general, world.troll, TOXIC)
            await eventually(lambda: len(mod_messages(world)) == 1, what="the shadow case")
            assert toxic["id"] not in fake.deleted
            assert "(shadow mode)" in mod_messages(world)[0]["embeds"][0]["title"]

            queue = await fake.wait_callback(await fake.command(world.general, world.kate, sub("queue")))
            assert "timeout" in queue["data"]["content"]
            status = await fake.wait_callback(await fake.command(world.general, world.kate, sub("status")))
            assert "Shadow mode: on" in status["data"]["content"] and "timeout 1" in status["data"]["content"]

            checked = await fake.command(
                world.general,
                world.kate,
                {
                    "name": "Check with modbot",
                    "type": 3,
                    "target_id": toxic["id"],
                    "resolved": {"messages": {toxic["id"]: toxic}},
                },
            )
            answer = await fake.wait_callback(checked)
            assert answer["data"]["flags"] & 64 and "profanity" in answer["data"]["content"]

    run(go)
    assert world.store.shadow_overrides() == {("discord", world.guild): True}


def test_automod_executions_are_logged_as_discords_decisions(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake

    async def go() -> None:
        async with running(world, monkeypatch):
            await fake.dispatch(
                "AUTO_MODERATION_ACTION_EXECUTION",
                {
                    "guild_id": world.guild,
                    "action": {"type": 1, "metadata": {}},
                    "rule_id": "3001",
                    "rule_trigger_type": 1,
                    "user_id": world.troll,
                    "channel_id": world.general,
                    "content": "buy cheap followers now",
                    "matched_keyword": "cheap followers",
                    "matched_content": "cheap followers",
                },
            )
            await eventually(lambda: world.store.counts().get("decisions_remove") == 1, what="the AutoMod decision")

    run(go)
    [case] = world.store.cases()
    assert case.decision.reasons[0].source == "discord-automod"
    assert "matched 'cheap followers'" in case.decision.reasons[0].message
    assert case.actions == ()  # Discord already acted; modbot only logs it


def test_missing_permissions_are_logged_once_per_guild(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = build_world(db_url, tmp_path, bot_permissions=BOT_PERMISSIONS & ~(1 << 2) & ~(1 << 40))

    async def go() -> None:
        async with running(world, monkeypatch):
            pass

    with caplog.at_level(logging.WARNING, logger="bot.adapters.discord.adapter"):
        run(go)
    lines = [r.getMessage() for r in caplog.records]
    assert any("cannot ban: missing Ban Members" in line for line in lines)
    assert any("cannot timeout: missing Moderate Members" in line for line in lines)
    assert sum("cannot ban" in line for line in lines) == 1


def test_invite_url_asks_for_the_least_permissions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "modbot.toml"
    cfg.write_text(
        "[adapters.discord]\n"
        'application_id = "123456789"\n'
        'actions = { remove = ["remove"], hide = ["remove"], timeout = ["remove"], ban = ["remove"] }\n'
    )
    assert main(["--config", str(cfg), "discord", "invite-url"]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("https://discord.com/oauth2/authorize?client_id=123456789")
    assert "scope=bot+applications.commands" in url
    # remove (manage messages) + alert (send, embed) + read (view, history); not ban, kick or timeout
    expected = (1 << 13) | (1 << 11) | (1 << 14) | (1 << 10) | (1 << 16)
    assert f"permissions={expected}" in url


def test_sharded_client_survives_an_invalidated_session_and_kicks(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    discord_cfg = world.config.adapters.discord.model_copy(
        update={
            "sharded": True,
            "actions": {
                "hide": ["remove"],
                "remove": ["remove"],
                "timeout": ["remove", "kick"],
                "ban": ["remove", "ban"],
            },
        }
    )
    world.config = world.config.model_copy(
        update={"adapters": world.config.adapters.model_copy(update={"discord": discord_cfg})}
    )
    fake = world.fake
    sent: list[str] = []

    async def go() -> None:
        async with running(world, monkeypatch):
            assert any(c.path == "/gateway/bot" for c in fake.calls)  # the sharded client asks for shards
            sent.append((await fake.user_says(world.general, world.bob, "before the fault"))["id"])
            await eventually(lambda: len(world.store.decisions_for("discord", world.guild, sent)) == 1)
            fake.refuse_resume = True
            await fake.drop(4000)  # RESUME refused: the client IDENTIFYs afresh
            await eventually(lambda: fake.identify_count == 2, what="a second IDENTIFY")
            await eventually(lambda: fake.connected, what="the new connection")
            sent.append((await fake.user_says(world.general, world.bob, "after the fault"))["id"])
            toxic = await fake.user_says(world.general, world.troll, TOXIC)
            await eventually(lambda: (world.guild, world.troll) in fake.kicks, what="the kick")
            assert toxic["id"] in fake.deleted
            await eventually(lambda: len(world.store.decisions_for("discord", world.guild, sent)) == 2)

    run(go)


def test_mentions_and_dms_get_drafts_that_reply_in_place_once_approved(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply assistant on Discord; the model is the stand-in of tests/fakes/reply_model.py."""
    from bot.storage.drafts import DraftStore
    from tests.fakes.reply_model import StandInModel, stand_in

    StandInModel.reset(lambda prompt: "Hello! The moderators will follow up @everyone")
    world = build_world(db_url, tmp_path)
    world.generator = stand_in
    kb = tmp_path / "knowledge"
    kb.mkdir()
    (kb / "faq.md").write_text(
        "# FAQ\n## Who runs the server\nThe moderators run the server and will follow up on every question. "
        "Ping @everyone only in an emergency.\n## Getting help\nAsk in #help and a moderator will follow up.\n"
    )
    # rephrased, any section taken as answering: the stand-in's grounded wording (with its ping) is sent
    settings = {"enabled": True, "knowledge_dir": kb, "answers": "rephrased", "answerability": 0.01}
    world.config = world.config.model_copy(update={"reply": world.config.reply.model_copy(update=settings)})
    fake = world.fake
    drafts = DraftStore(world.store)

    async def go() -> None:
        async with running(world, monkeypatch):
            bot = fake.bot_user
            asked = await fake.user_says(
                world.general, world.bob, f"<@{bot['id']}> who runs this server?", mentions=[bot]
            )
            dm = await fake.user_dms_bot(world.bob, "hello bot, can you help me?")
            await fake.user_says(world.general, world.kate, "no question here")
            await eventually(lambda: len(drafts.drafts(["proposed"])) == 2, 60, what="two proposed drafts")
            by_post = {d.post.id: d for d in drafts.drafts(["proposed"])}
            assert set(by_post) == {asked["id"], dm["id"]}
            assert by_post[dm["id"]].post.community == "dm" and by_post[dm["id"]].trigger == "question"
            for d in by_post.values():
                await asyncio.to_thread(drafts.decide, d.id, "approve", "kate", "test", None, None)
            await eventually(lambda: len(drafts.drafts(["sent"])) == 2, 30, what="both replies sent")

    run(go)
    replies = [
        c
        for c in fake.calls
        if c.method == "POST" and c.path.endswith("/messages") and (c.body or {}).get("message_reference")
    ]
    assert {(c.path, str(c.body["message_reference"]["message_id"])) for c in replies} == {
        (
            f"/channels/{world.general}/messages",
            next(m for m in fake.messages.values() if "who runs" in m["content"])["id"],
        ),
        (
            f"/channels/{next(iter(fake.dms))}/messages",
            next(m for m in fake.messages.values() if "hello bot" in m["content"])["id"],
        ),
    }
    assert all(c.body["allowed_mentions"]["parse"] == [] for c in replies)  # the draft's @everyone pings nobody
    with world.store.engine.connect() as conn:
        dm_actions = conn.execute(
            text("SELECT a.kind FROM actions a JOIN posts p ON p.id = a.post_id WHERE p.community = 'dm'")
        ).all()
    assert [k for (k,) in dm_actions] == ["reply"]  # a DM is never moderated in public


def test_check_with_modbot_reports_a_missed_post(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A post modbot allowed, checked by a moderator, gets "Missed: <category>" buttons; pressing
    one opens a case marked as that moderator's report. Members without the role cannot, a second
    press names the case already open, and a message modbot never decided is named as such."""
    world = build_world(db_url, tmp_path)
    fake = world.fake

    def check(message: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": "Check with modbot",
            "type": 3,
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: message}},
        }

    async def go() -> None:
        async with running(world, monkeypatch):
            quiet = await fake.user_says(world.general, world.troll, "people like you never belong anywhere")
            await eventually(lambda: world.store.counts().get("decisions_allow") == 1, what="the allowed post")
            checked = await fake.command(world.general, world.kate, check(quiet))
            answer = await fake.wait_callback(checked)
            ids = [c["custom_id"] for row in answer["data"]["components"] for c in row["components"]]
            assert f"modbot:missed:{quiet['id']}:hate" in ids and answer["data"]["flags"] & 64
            refused = await fake.wait_callback(await fake.click_reply(checked, ids[0], world.bob))
            assert "Only moderators" in refused["data"]["content"]
            done = await fake.wait_callback(
                await fake.click_reply(checked, f"modbot:missed:{quiet['id']}:hate", world.kate)
            )
            assert re.match(r"Case #\d+ opened: hate missed \(scored 0\.\d\d\)", done["data"]["content"]), done
            again = await fake.wait_callback(await fake.click_reply(checked, ids[1], world.kate))
            assert "already has case" in again["data"]["content"]
            unseen = fake._message(world.general, fake.users[world.troll], "posted while modbot was away")
            checked = await fake.command(world.general, world.kate, check(unseen))
            ids = [
                c["custom_id"]
                for row in (await fake.wait_callback(checked))["data"]["components"]
                for c in row["components"]
            ]
            never = await fake.wait_callback(await fake.click_reply(checked, ids[0], world.kate))
            assert "no decision on this post" in never["data"]["content"]

    run(go)
    [case] = world.store.cases()
    assert case.reported_by == f"discord:{world.kate} (kate)" and case.category == "hate"
    assert case.post.text == "people like you never belong anywhere"
