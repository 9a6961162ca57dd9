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
from typing import Any

import discord
import yarl
from discord import app_commands

from bot.adapters.base import DecisionSink, ReviewDesk
from bot.adapters.discord import catch_up, gateway, permissions
from bot.adapters.discord.actions import DiscordActions
from bot.adapters.discord.appeals import AppealButton, appealed_case
from bot.adapters.discord.cases import CaseButton, MissedButton, buttons, case_embed
from bot.adapters.discord.commands import SlashCommands, actor_name, author_record
from bot.adapters.discord.convert import PLATFORM, automod_record, to_post
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
        gateway.use(self.client, config.compression)
        self._keeping: set[asyncio.Task[None]] = set()
        guard_parsers(self.client, self._keep_later)
        self.client.modbot_case_button = self._on_case_button  # type: ignore[attr-defined]
        self.client.modbot_appeal = self._on_appeal_form  # type: ignore[attr-defined]
        self.client.modbot_missed = self._on_missed  # type: ignore[attr-defined]
        self.client.add_dynamic_items(CaseButton, AppealButton, MissedButton)
        for name in (
            *("on_connect", "on_ready", "on_shard_ready", "on_resumed", "on_disconnect"),
            *("on_message", "on_raw_message_edit", "on_automod_action"),
        ):
            setattr(self.client, name, getattr(self, name))
        self.tree = app_commands.CommandTree(self.client)
        SlashCommands(desk, sink, self._is_moderator, self.guild_config).install(self.tree)
        self._stopping = asyncio.Event()
        self._checked_guilds: set[int] = set()
        self.ready = asyncio.Event()
        """set once the session's guilds are in discord.py's cache; cleared by a new session"""
        self.actions = DiscordActions(self.client, config, self.guild_config, desk.case, self._record)
        self.catch_up = catch_up.CatchUp(
            sink, self._converted_message, self._is_own, config.catch_up_hours, config.catch_up_messages, self._stopping
        )
        self.reconnects = 0
        self.frames = 0
        self.lag: float | None = None  # the gateway delivers live; a resumed session replays what it missed
        self.action_kinds = permissions.kinds_taken(config)

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
                await self._tell_moderators(
                    guild,
                    f"modbot could not register its slash commands here (Discord said: {exc.text or exc.status}), "
                    "so /modbot queue, case, shadow and status are missing. Case buttons still work. Re-invite "
                    "modbot with the applications.commands scope (`modbot discord invite-url`), then restart it.",
                )
        self.ready.set()
        self._spawn(self.catch_up.run(self.client.guilds))

    async def on_connect(self) -> None:
        """A new session (not a resume): discord.py has emptied its cache until the guilds arrive."""
        self.ready.clear()
        self.catch_up.begin()

    async def on_shard_ready(self, shard_id: int) -> None:
        """A shard that re-identifies later says only this, not "ready". Every guild is read again
        (a channel is one cheap request when nothing was missed): rounds are per client, not shard."""
        self.ready.set()
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

    async def _tell_moderators(self, guild: discord.Guild, text: str) -> None:
        """A notice about modbot itself in the mod channel, best effort: the log has it as well."""
        mod_channel = self.guild_config(guild.id).mod_channel
        channel = guild.get_channel(int(mod_channel)) if mod_channel else None
        if isinstance(channel, discord.TextChannel):
            try:
                await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
            except discord.HTTPException as exc:
                log.warning("guild %s: could not tell the moderators: %s", guild.id, exc)

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
        self.frames += 1
        if self._is_own(message):
            return
        if message.guild is None and (case_id := await self._warning_answered(message)) is not None:
            reply = await self._appeal(case_id, message.author.id, message.content or "", "discord:reply to warning")
            await message.channel.send(reply, allowed_mentions=discord.AllowedMentions.none())
            return
        me = self.client.user
        mentioned = me is not None and any(u.id == me.id for u in message.mentions)
        # A DM or a mention is a question for the reply assistant; DMs are decided and logged but
        # never acted on (ActionPlanner skips them).
        if (post := await self._converted(message, lambda: to_post(message, asks_bot=mentioned))) is not None:
            await self.catch_up.submit([post], message)

    async def on_raw_message_edit(self, event: discord.RawMessageUpdateEvent) -> None:
        """Every edit, of a message in discord.py's cache or not (one from before a restart): the
        gateway's update carries the whole message. An update without `edited_timestamp` is Discord
        filling in an embed, not the author changing anything; the same edit twice is one revision
        (its id carries the edit time), so only a cached copy with the same text is skipped early."""
        self.frames += 1
        after = event.message
        if after.guild is None or after.edited_at is None or self._is_own(after):
            return
        if event.cached_message is not None and event.cached_message.content == after.content:
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

    async def _warning_answered(self, message: discord.Message) -> int | None:
        """The case whose warning this DM replies to, if it replies to one of modbot's warnings."""
        ref = message.reference
        if ref is None or ref.message_id is None:
            return None
        answered = ref.resolved if isinstance(ref.resolved, discord.Message) else None
        if answered is None:
            try:
                answered = await message.channel.fetch_message(ref.message_id)
            except discord.HTTPException:
                return None
        return appealed_case(answered) if self._is_own(answered) else None

    async def _appeal(self, case_id: int, user_id: int, text: str, via: str) -> str:
        """Open the appeal; what to tell the user either way."""
        try:
            await self.desk.appeal(case_id, str(user_id), text, via)
        except (LookupError, ValueError) as exc:
            return f"Your appeal could not be opened: {exc}."
        self.on_actions_queued()
        return "Your appeal is with the moderators. Their answer will come here."

    async def _on_appeal_form(self, interaction: discord.Interaction[Any], case_id: int, text: str) -> None:
        reply = await self._appeal(case_id, interaction.user.id, text, "discord:appeal button")
        await interaction.response.send_message(reply)

    def _keep_later(self, item: Quarantined) -> None:
        """Quarantine from inside discord.py's (synchronous) parsing of an event."""
        self._spawn(self.sink.quarantine([item]))

    async def on_automod_action(self, execution: discord.AutoModAction) -> None:
        post, decision = automod_record(execution)
        await self.sink.record_external(post, decision, decided_by="discord-automod")

    # --- actions ----------------------------------------------------------------------------------

    def can_act(self) -> bool:
        """Not between a new session's connect and its guilds arriving: the guild cache is empty."""
        return self.ready.is_set() and not self.client.is_closed()

    async def execute(self, action: ActionRecord) -> str:
        return await self.actions.execute(action)

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

    async def _on_missed(self, interaction: discord.Interaction[Any], message_id: int, category: str) -> None:
        """A moderator's "Missed: hate" under a post modbot allowed: a case opens for it."""
        if not self._is_moderator(interaction.user) or interaction.guild_id is None:
            await interaction.response.send_message("Only moderators can report a missed post.", ephemeral=True)
            return
        origin = f"discord:guild {interaction.guild_id} check"
        try:
            case = await self.desk.report_missed(
                PLATFORM, str(interaction.guild_id), str(message_id), category, actor_name(interaction.user), origin
            )
        except (LookupError, ValueError) as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        score = case.decision.scores.get(category, 0.0)
        text = f"Case #{case.id} opened: {category} missed (scored {score:.2f}). It is in the queue."
        await interaction.response.send_message(text, ephemeral=True)

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
