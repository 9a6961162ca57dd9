"""The Discord adapter: reads every guild message through discord.py, carries out actions, and
puts cases in front of moderators in their mod channel, with buttons and slash commands.

Gateway resilience is discord.py's (RESUME, re-IDENTIFY, backoff); what modbot adds is that a
message counts as received only once it is stored, that history posted during a gap is read back
on every connect (catch_up.py), and that everything done on Discord goes through the outbox, so a
reconnect or restart loses nothing within the catch-up bounds.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import discord
import yarl
from discord import app_commands

from bot.adapters.base import ActionFailed, DecisionSink, ReviewDesk
from bot.adapters.discord import catch_up, permissions
from bot.adapters.discord.cases import CaseButton, buttons, case_embed
from bot.adapters.discord.commands import SlashCommands, actor_name, author_record
from bot.adapters.discord.convert import PLATFORM, TIMEOUT_CAP_SECONDS, automod_record, to_post
from bot.adapters.discord.events import guard_parsers
from bot.config import DiscordConfig, DiscordGuildConfig
from bot.storage.records import ActionRecord, CaseView
from moderation.types import Post, Quarantined

log = logging.getLogger(__name__)
_NO_GUILD = DiscordGuildConfig()


class DiscordAdapter:
    platform = PLATFORM

    def __init__(
        self,
        config: DiscordConfig,
        token: str,
        sink: DecisionSink,
        desk: ReviewDesk,
        on_actions_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.token = token
        self.sink = sink
        self.desk = desk
        self.on_actions_queued = on_actions_queued
        if config.api_url:
            discord.http.Route.BASE = config.api_url.rstrip("/")
        if config.gateway_url:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.gateway_url)
        intents = discord.Intents.default()
        intents.message_content = True
        intents.members = True
        intents.auto_moderation_execution = True
        client_class = discord.AutoShardedClient if config.sharded else discord.Client
        self.client: discord.Client = client_class(intents=intents, chunk_guilds_at_startup=False)
        self._keeping: set[asyncio.Task[None]] = set()
        guard_parsers(self.client, self._keep_later)
        self.client.modbot_case_button = self._on_case_button  # type: ignore[attr-defined]
        self.client.add_dynamic_items(CaseButton)
        for name in (
            *("on_connect", "on_ready", "on_shard_ready", "on_resumed", "on_disconnect"),
            *("on_message", "on_message_edit", "on_automod_action"),
        ):
            setattr(self.client, name, getattr(self, name))
        self.tree = app_commands.CommandTree(self.client)
        SlashCommands(desk, sink, self._is_moderator, self.guild_config).install(self.tree)
        self._stopping = asyncio.Event()
        self._checked_guilds: set[int] = set()
        self.ready = asyncio.Event()
        self.catch_up = catch_up.CatchUp(
            sink, self._converted_message, self._is_own, config.catch_up_hours, config.catch_up_messages, self._stopping
        )
        self.reconnects = 0
        self.action_kinds = sorted({k for kinds in config.actions.values() for k in kinds} | {"alert"})

    # --- lifecycle --------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self.client.login(self.token)
        except discord.LoginFailure as exc:
            raise RuntimeError(f"Discord refused the bot token from ${self.config.token_env}: {exc}") from exc
        connection = asyncio.create_task(self.client.connect(reconnect=True), name="discord-gateway")
        stopping = asyncio.create_task(self._stopping.wait())
        done, _ = await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
        await self.client.close()
        stopping.cancel()
        failure = connection.exception() if connection in done else None
        if isinstance(failure, discord.PrivilegedIntentsRequired):
            raise RuntimeError(
                "Discord refused the connection: enable the Message Content and Server Members intents "
                "for this application in the Developer Portal (docs/discord.md)"
            ) from failure
        if failure is not None:
            raise RuntimeError(f"Discord gateway stopped: {failure}") from failure
        connection.cancel()
        await asyncio.gather(connection, return_exceptions=True)

    def stop(self) -> None:
        self._stopping.set()

    def connected(self) -> bool:
        return self.client.is_ready() and not self.client.is_closed()

    async def on_disconnect(self) -> None:
        if not self._stopping.is_set():
            self.reconnects += 1

    def guild_config(self, guild_id: int | str) -> DiscordGuildConfig:
        return self.config.guilds.get(str(guild_id), _NO_GUILD)

    async def on_ready(self) -> None:
        for guild in self.client.guilds:
            if guild.id in self._checked_guilds:
                continue
            self._checked_guilds.add(guild.id)
            self._check_permissions(guild)
            self.tree.copy_global_to(guild=guild)
            try:
                await self.tree.sync(guild=guild)
            except discord.HTTPException as exc:
                log.warning("guild %s (%s): could not register slash commands: %s", guild.name, guild.id, exc)
        self.ready.set()
        self._spawn(self.catch_up.run(self.client.guilds))

    async def on_connect(self) -> None:
        self.catch_up.begin()

    async def on_shard_ready(self, shard_id: int) -> None:
        """A shard that re-identifies later says only this, not "ready". Every guild is read again
        (a channel is one cheap request when nothing was missed): rounds are per client, not shard."""
        self._spawn(self.catch_up.run(self.client.guilds))

    async def on_resumed(self) -> None:
        self.catch_up.begin()
        self._spawn(self.catch_up.run(self.client.guilds))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._keeping.add(task)
        task.add_done_callback(self._keeping.discard)

    def _is_own(self, message: discord.Message) -> bool:
        return self.client.user is not None and message.author.id == self.client.user.id

    def _check_permissions(self, guild: discord.Guild) -> None:
        """Say once, at start, what modbot cannot do in this guild and why."""
        for line in permissions.missing(guild.me.guild_permissions, self.action_kinds):
            log.warning("guild %s (%s): %s", guild.name, guild.id, line)
        mod_channel = self.guild_config(guild.id).mod_channel
        if mod_channel is None:
            log.warning(
                "guild %s (%s): no mod_channel configured: cases are not posted in Discord", guild.name, guild.id
            )
        elif guild.get_channel(int(mod_channel)) is None:
            log.warning(
                "guild %s (%s): mod_channel %s is not a channel modbot can see", guild.name, guild.id, mod_channel
            )

    # --- ingest -----------------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        if self._is_own(message):
            return
        me = self.client.user
        mentioned = me is not None and any(u.id == me.id for u in message.mentions)
        # A DM or a mention is a question for the reply assistant; DMs are decided and logged but
        # never acted on (ActionPlanner skips them).
        if (post := await self._converted(message, lambda: to_post(message, asks_bot=mentioned))) is not None:
            await self.catch_up.submit([post], message)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        if after.guild is None or before.content == after.content:
            return
        if self._is_own(after):
            return
        if (post := await self._converted(after, lambda: to_post(after, edited=True))) is not None:
            await self.sink.submit([post])

    async def _converted(self, message: discord.Message, convert: Callable[[], Post]) -> Post | None:
        """The post, or None with the message in quarantine: a payload discord.py parsed but that
        modbot cannot read must not stop the gateway's event handling."""
        try:
            return convert()
        except Exception as exc:  # anything the conversion raises: the message is kept with why
            where = f"guild {message.guild.id}" if message.guild else "direct messages"
            why = f"{type(exc).__name__}: {exc}"
            raw = repr(message).encode("utf-8", "backslashreplace")
            await self.sink.quarantine([Quarantined(PLATFORM, where, f"message {message.id}", why, raw)])
            return None

    async def _converted_message(self, message: discord.Message) -> Post | None:
        return await self._converted(message, functools.partial(to_post, message))

    def _keep_later(self, item: Quarantined) -> None:
        """Quarantine from inside discord.py's (synchronous) parsing of an event."""
        self._spawn(self.sink.quarantine([item]))

    async def on_automod_action(self, execution: discord.AutoModAction) -> None:
        post, decision = automod_record(execution)
        await self.sink.record_external(post, decision, decided_by="discord-automod")

    # --- actions ----------------------------------------------------------------------------------

    async def execute(self, action: ActionRecord) -> str:
        ref = action.platform_ref
        try:
            match action.kind:
                case "remove" | "hide":
                    return await self._delete(ref)
                case "timeout":
                    seconds = min(int(action.params.get("seconds", 3600)), TIMEOUT_CAP_SECONDS)
                    member = await self._member(ref)
                    await member.timeout(timedelta(seconds=seconds), reason=_reason(action))
                    return f"timed out {member.id} for {seconds}s"
                case "kick":
                    await self._guild(ref).kick(discord.Object(int(ref["author_id"])), reason=_reason(action))
                    return f"kicked {ref['author_id']}"
                case "ban":
                    await self._guild(ref).ban(
                        discord.Object(int(ref["author_id"])),
                        reason=_reason(action),
                        delete_message_seconds=self.config.ban_delete_message_seconds,
                    )
                    return f"banned {ref['author_id']}"
                case "warn":
                    return await self._warn(action)
                case "alert":
                    return await self._alert(action)
                case "reply":
                    return await self._reply(action)
        except discord.Forbidden as exc:
            raise ActionFailed(f"Discord refused ({exc.status}): {exc.text}; check modbot's role", False) from exc
        except discord.NotFound as exc:
            raise ActionFailed(f"not found on Discord: {exc.text}", False) from exc
        raise ActionFailed(f"Discord has no action {action.kind!r}", retryable=False)

    async def _reply(self, action: ActionRecord) -> str:
        """A reply to the post (in its channel, or in the DM it came from), pinging nobody: a draft
        must not be able to mention @everyone whatever it says."""
        ref = action.platform_ref
        text = str(action.params.get("text") or "")
        if not text:
            raise ActionFailed("reply without text", retryable=False)
        guild_id = int(ref["guild_id"]) if ref.get("guild_id") else None
        channel = self.client.get_partial_messageable(int(ref["channel_id"]), guild_id=guild_id)
        reference = discord.MessageReference(
            message_id=int(ref["message_id"]), channel_id=int(ref["channel_id"]), fail_if_not_exists=False
        )
        sent = await channel.send(text[:2000], reference=reference, allowed_mentions=discord.AllowedMentions.none())
        return f"replied: message {sent.id}"

    def _guild(self, ref: dict[str, Any]) -> discord.Guild:
        guild = self.client.get_guild(int(ref["guild_id"]))
        if guild is None:
            raise ActionFailed(f"modbot is not in guild {ref['guild_id']} (or not connected yet)")
        return guild

    async def _member(self, ref: dict[str, Any]) -> discord.Member:
        guild = self._guild(ref)
        uid = int(ref["author_id"])
        return guild.get_member(uid) or await guild.fetch_member(uid)

    async def _delete(self, ref: dict[str, Any]) -> str:
        if not ref.get("message_id"):
            return "no message to delete"
        channel = self.client.get_partial_messageable(int(ref["channel_id"]), guild_id=int(ref["guild_id"]))
        try:
            await channel.get_partial_message(int(ref["message_id"])).delete()
        except discord.NotFound:
            return "already deleted"
        return f"deleted message {ref['message_id']}"

    async def _warn(self, action: ActionRecord) -> str:
        """DM the author with the rule and how to appeal; in the channel when their DMs are closed."""
        ref = action.platform_ref
        guild = self._guild(ref)
        text = (
            f"Your message in **{discord.utils.escape_markdown(guild.name)}** was removed by the moderation "
            f"bot: {action.params.get('reason', 'it broke the server rules')}. To appeal, {self.config.appeal}."
        )
        uid = int(ref["author_id"])
        try:
            dm = await self.client.create_dm(discord.Object(uid))
            await dm.send(text)
            return "warned by DM"
        except discord.Forbidden:
            channel = self.client.get_partial_messageable(int(ref["channel_id"]), guild_id=guild.id)
            await channel.send(
                f"<@{uid}> {text}", allowed_mentions=discord.AllowedMentions(users=[discord.Object(uid)])
            )
            return "DMs closed: warned in the channel"

    async def _alert(self, action: ActionRecord) -> str:
        ref = action.platform_ref
        mod_channel = self.guild_config(ref["guild_id"]).mod_channel
        if mod_channel is None:
            raise ActionFailed(f"no mod_channel configured for guild {ref['guild_id']}", retryable=False)
        if action.case_id is None:
            raise ActionFailed("alert without a case", retryable=False)
        case = await self.desk.case(action.case_id)
        if case is None:
            raise ActionFailed(f"case {action.case_id} is gone", retryable=False)
        record = await self._record(case)
        channel = self.client.get_partial_messageable(int(mod_channel), guild_id=int(ref["guild_id"]))
        sent = await channel.send(embed=case_embed(case, record), view=buttons(case))
        return f"case posted as message {sent.id} in channel {mod_channel}"

    async def _record(self, case: CaseView) -> dict[str, int]:
        return await author_record(self.desk, case)

    # --- review -----------------------------------------------------------------------------------

    def _is_moderator(self, member: discord.Member | discord.User) -> bool:
        if not isinstance(member, discord.Member):
            return False
        if member.guild_permissions.manage_messages or member.guild_permissions.administrator:
            return True
        allowed = set(self.guild_config(member.guild.id).moderator_roles)
        return any(str(r.id) in allowed or r.name in allowed for r in member.roles)

    async def _on_case_button(self, interaction: discord.Interaction[Any], case_id: int, verb: str) -> None:
        user = interaction.user
        origin = f"discord:guild {interaction.guild_id} button"
        if not self._is_moderator(user):
            await self.desk.refused(actor_name(user), case_id, verb, origin)
            await interaction.response.send_message(
                "Only moderators can act on cases (Manage Messages or a moderator role).", ephemeral=True
            )
            return
        try:
            case = await self.desk.act(case_id, verb, actor_name(user), origin)  # type: ignore[arg-type]
        except (LookupError, ValueError) as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        self.on_actions_queued()
        record = await self._record(case)
        await interaction.response.edit_message(embed=case_embed(case, record), view=buttons(case))


def _reason(action: ActionRecord) -> str:
    return str(action.params.get("reason", "modbot"))[:500]
