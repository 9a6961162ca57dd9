"""Outbox actions carried out on Discord, each safe to repeat: the executor retries after a timeout
or a lost response, and after a crash an action may run again.

- A message modbot sends carries a nonce made from the action id with `enforce_nonce`, so Discord
  answers a repeat with the message already posted instead of posting it twice.
- What is already so counts as done: a message already deleted, a member already gone when a
  timeout or kick comes. A ban is a PUT: banning twice is one ban.
- A 4xx other than a rate limit is the same on every try (a missing permission, a form Discord will
  not take), so it fails for good at once, saying which permission modbot lacks where that is why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import discord

from bot.adapters.base import ActionFailed
from bot.adapters.discord import permissions
from bot.adapters.discord.appeals import answer_text, appeal_view, warning_text
from bot.adapters.discord.cases import buttons, case_embed
from bot.adapters.discord.convert import TIMEOUT_CAP_SECONDS
from bot.config import DiscordConfig, DiscordGuildConfig
from bot.storage.records import ActionRecord, CaseView

_NOBODY = discord.AllowedMentions.none()
UNKNOWN_MEMBER = 10007
UNKNOWN_USER = 10013


def nonce(action: ActionRecord) -> str:
    """At most 25 characters, unique per action: Discord keeps a bot's nonces for a few minutes,
    longer than the executor's retries take."""
    return f"modbot-{action.id}"


class DiscordActions:
    def __init__(
        self,
        client: discord.Client,
        config: DiscordConfig,
        guild_config: Callable[[int | str], DiscordGuildConfig],
        case_of: Callable[[int], Awaitable[CaseView | None]],
        record_of: Callable[[CaseView], Awaitable[dict[str, int]]],
    ) -> None:
        self.client = client
        self.config = config
        self.guild_config = guild_config
        self.case_of = case_of
        self.record_of = record_of

    async def execute(self, action: ActionRecord) -> str:
        try:
            return await self._run(action)
        except discord.HTTPException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise
            raise ActionFailed(self._rejected(action, exc), retryable=False) from exc

    def _rejected(self, action: ActionRecord, exc: discord.HTTPException) -> str:
        said = f"Discord refused the {action.kind} ({exc.status}, code {exc.code}: {exc.text})"
        if exc.status != 403:
            return said
        guild = self.client.get_guild(int(action.platform_ref.get("guild_id") or 0))
        lacking = permissions.missing(guild.me.guild_permissions, [action.kind]) if guild is not None else []
        if lacking:
            return f"{said}: modbot {'; '.join(lacking)} (give its role the permission, then `modbot actions retry`)"
        return f"{said}: a channel override or role order denies modbot this (its role must sit above the member's)"

    async def _run(self, action: ActionRecord) -> str:
        ref = action.platform_ref
        match action.kind:
            case "remove" | "hide":
                return await self._delete(ref)
            case "timeout":
                seconds = min(int(action.params.get("seconds", 3600)), TIMEOUT_CAP_SECONDS)
                if (member := await self._member(ref)) is None:
                    return f"{ref['author_id']} is not in the server any more: nothing to time out"
                await member.timeout(timedelta(seconds=seconds), reason=_reason(action))
                return f"timed out {member.id} for {seconds}s"
            case "kick":
                try:
                    await self._guild(ref).kick(discord.Object(int(ref["author_id"])), reason=_reason(action))
                except discord.NotFound as exc:
                    if exc.code != UNKNOWN_MEMBER:
                        raise
                    return f"{ref['author_id']} had left the server already"
                return f"kicked {ref['author_id']}"
            case "ban":
                await self._guild(ref).ban(
                    discord.Object(int(ref["author_id"])),
                    reason=_reason(action),
                    delete_message_seconds=self.config.ban_delete_message_seconds,
                )
                return f"banned {ref['author_id']}"
            case "untimeout":
                if (member := await self._member(ref)) is None:
                    return f"{ref['author_id']} is not in the server any more: no timeout to lift"
                await member.timeout(None, reason=_reason(action))
                return f"lifted the timeout of {member.id}"
            case "unban":
                try:
                    await self._guild(ref).unban(discord.Object(int(ref["author_id"])), reason=_reason(action))
                except discord.NotFound:
                    return f"{ref['author_id']} was not banned (any more)"
                return f"unbanned {ref['author_id']}"
            case "warn":
                return await self._warn(action)
            case "appeal_answer":
                return await self._dm(action, answer_text(self._guild(ref).name, action.params), None)
            case "alert" | "appeal_alert":
                return await self._alert(action)
            case "reply":
                return await self._reply(action)
        raise ActionFailed(f"Discord has no action {action.kind!r}", retryable=False)

    def _guild(self, ref: dict[str, Any]) -> discord.Guild:
        guild = self.client.get_guild(int(ref["guild_id"]))
        if guild is None:
            raise ActionFailed(f"modbot is not in guild {ref['guild_id']} (or Discord has it unavailable)")
        return guild

    async def _member(self, ref: dict[str, Any]) -> discord.Member | None:
        guild = self._guild(ref)
        uid = int(ref["author_id"])
        try:
            return guild.get_member(uid) or await guild.fetch_member(uid)
        except discord.NotFound as exc:
            if exc.code in (UNKNOWN_MEMBER, UNKNOWN_USER):
                return None
            raise

    async def _delete(self, ref: dict[str, Any]) -> str:
        if not ref.get("message_id"):
            return "no message to delete"
        channel = self.client.get_partial_messageable(int(ref["channel_id"]), guild_id=int(ref["guild_id"]))
        try:
            await channel.get_partial_message(int(ref["message_id"])).delete()
        except discord.NotFound:
            return "already deleted"
        return f"deleted message {ref['message_id']}"

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
        sent = await channel.send(
            text[:2000], reference=reference, allowed_mentions=discord.AllowedMentions.none(), nonce=nonce(action)
        )
        return f"replied: message {sent.id}"

    async def _warn(self, action: ActionRecord) -> str:
        """DM the author which rule applied, the part that triggered it and how to appeal (with
        the Appeal button when there is a case to appeal); in the channel when their DMs are closed."""
        guild = self._guild(action.platform_ref)
        text = warning_text(self.config, self.guild_config(guild.id), guild.name, action.params)
        view = appeal_view(action.case_id) if action.case_id is not None else None
        return await self._dm(action, text, view)

    async def _dm(self, action: ActionRecord, text: str, view: discord.ui.View | None) -> str:
        ref = action.platform_ref
        uid = int(ref["author_id"])
        try:
            dm = await self.client.create_dm(discord.Object(uid))
            sent = await dm.send(
                text, view=view or discord.utils.MISSING, allowed_mentions=_NOBODY, nonce=nonce(action)
            )
            return f"sent by DM as message {sent.id}"
        except discord.Forbidden:
            channel = self.client.get_partial_messageable(int(ref["channel_id"]), guild_id=int(ref["guild_id"]))
            await channel.send(
                f"<@{uid}> {text}",
                allowed_mentions=discord.AllowedMentions(users=[discord.Object(uid)]),
                nonce=nonce(action),
            )
            return "DMs closed: said in the channel"

    async def _alert(self, action: ActionRecord) -> str:
        ref = action.platform_ref
        mod_channel = self.guild_config(ref["guild_id"]).mod_channel
        if mod_channel is None:
            raise ActionFailed(f"no mod_channel configured for guild {ref['guild_id']}", retryable=False)
        if action.case_id is None:
            raise ActionFailed("alert without a case", retryable=False)
        case = await self.case_of(action.case_id)
        if case is None:
            raise ActionFailed(f"case {action.case_id} is gone", retryable=False)
        record = await self.record_of(case)
        channel = self.client.get_partial_messageable(int(mod_channel), guild_id=int(ref["guild_id"]))
        sent = await channel.send(embed=case_embed(case, record), view=buttons(case), nonce=nonce(action))
        return f"case posted as message {sent.id} in channel {mod_channel}"


def _reason(action: ActionRecord) -> str:
    return str(action.params.get("reason", "modbot"))[:500]
