"""Catching up after a gap: messages posted while modbot was stopped, restarting or on a gateway
session that could not be resumed never arrive as events, so on every READY and RESUMED each
channel's history is read from the last message stored there.

Where a channel stopped is a cursor (`discord` / `channel:<id>`: the highest message id stored),
written in the transaction that stores the message, so a crash can only repeat work, never skip it;
the store skips a message it has, so a live copy and a caught-up copy are decided once. While a
round runs, live messages in a channel it has not reached yet do not move that channel's cursor
(else the round would read from after them and skip the gap). A channel modbot has never stored a
message in is read from the newest cursor in its guild (the last moment modbot was there), so a
channel made while modbot was away is caught up too; a guild with no cursor at all is not read back
(modbot was never in it: nothing was missed)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

import discord

from bot.adapters.base import PostSink
from bot.adapters.discord.convert import PLATFORM
from bot.storage.records import CursorUpdate
from moderation.types import Post

log = logging.getLogger(__name__)
BATCH = 100
"""Messages stored per transaction while catching up: one history page."""

Channel = discord.TextChannel | discord.Thread


def channel_key(channel_id: int) -> str:
    return f"channel:{channel_id}"


def start_after(stored: int | None, fallback: int | None, hours: float, now: datetime | None = None) -> int | None:
    """The message id to read history after: the stored position, but never further back than
    the window; None when there is no position at all."""
    position = stored or fallback
    if position is None or hours <= 0:
        return None
    oldest = discord.utils.time_snowflake((now or datetime.now(UTC)) - timedelta(hours=hours))
    return max(position, oldest)


def readable_channels(guild: discord.Guild) -> list[Channel]:
    """Text channels and active threads whose history modbot may read."""
    found: list[Channel] = [*guild.text_channels, *guild.threads]
    return [c for c in found if _may_read(c.permissions_for(guild.me))]


def _may_read(allowed: discord.Permissions) -> bool:
    return allowed.view_channel and allowed.read_message_history


async def with_member(guild: discord.Guild, message: discord.Message) -> discord.Message:
    """History from REST carries the author as a user without roles; exempt_roles need the member."""
    if isinstance(message.author, discord.Member):
        return message
    member = guild.get_member(message.author.id)
    if member is None:
        try:
            member = await guild.fetch_member(message.author.id)
        except discord.HTTPException:  # left the guild since: judged as a user without roles
            return message
    message.author = member
    return message


class CatchUp:
    """Stores every message the adapter hands over (live or read back) with its channel's cursor,
    and runs catch-up rounds."""

    def __init__(
        self,
        sink: PostSink,
        convert: Callable[[discord.Message], Awaitable[Post | None]],
        is_own: Callable[[discord.Message], bool],
        hours: float,
        limit: int,
        stopping: asyncio.Event,
    ) -> None:
        self.sink = sink
        self.convert = convert
        self.is_own = is_own
        self.hours = hours
        self.limit = limit
        self.stopping = stopping
        self._lock = asyncio.Lock()
        self._holding = False
        """a round is begun and not finished: channels it has not reached hold their cursors"""
        self._round = 0
        self._settled: set[int] = set()
        """channels the newest round has caught up: live messages there move the cursor again"""
        self._stored_up_to: dict[int, int] = {}
        """channel id -> the highest message id this process stored there"""

    def begin(self) -> None:
        """Open a round on connecting, before the session's first message event is handled, so that
        no live message can move the cursor of a channel the round has not read yet."""
        self._round += 1
        self._holding = True
        self._settled = set()

    async def run(self, guilds: Sequence[discord.Guild]) -> None:
        """The newest round: each readable channel of each guild, one at a time. A round begun
        while this one runs takes over (and reads every channel again)."""
        this_round = self._round
        try:
            async with self._lock:
                for guild in guilds if self.hours > 0 and self._round == this_round else []:
                    await self._guild(guild, this_round)
        finally:
            if self._round == this_round and self._holding:
                self._holding = False
                await self._release()

    async def submit(self, posts: Sequence[Post], last: discord.Message, *, live: bool = True) -> None:
        """Store posts and, unless a round still owes this channel its catch-up, move its cursor."""
        cid = last.channel.id
        highest = max(last.id, self._stored_up_to.get(cid, 0))
        self._stored_up_to[cid] = highest
        held = live and self._holding and cid not in self._settled
        moves = not held and (not live or last.id == highest)
        await self.sink.submit(posts, cursor=CursorUpdate(PLATFORM, channel_key(cid), str(last.id)) if moves else None)

    async def _guild(self, guild: discord.Guild, this_round: int) -> None:
        channels = readable_channels(guild)
        stored = {c.id: await self._stored(c.id) for c in channels}
        fallback = max((s for s in stored.values() if s is not None), default=None)
        for channel in channels:
            after = start_after(stored[channel.id], fallback, self.hours)
            try:
                if after is not None:
                    await self._channel(guild, channel, after)
            except discord.HTTPException as exc:
                log.warning("channel %s: could not read its history to catch up: %s", channel.id, exc)
            if self._round == this_round:
                await self._settle(channel.id)

    async def _stored(self, channel_id: int) -> int | None:
        value = await self.sink.cursor(PLATFORM, channel_key(channel_id), self.stopping)
        return int(value) if value else None

    async def _channel(self, guild: discord.Guild, channel: Channel, after: int) -> None:
        posts: list[Post] = []
        last: discord.Message | None = None
        async for message in self._missed(channel, after):
            message = await with_member(guild, message)
            if (post := await self.convert(message)) is not None:
                posts.append(post)
                last = message
            if len(posts) == BATCH and last is not None:
                await self.submit(posts, last, live=False)
                posts = []
        if posts and last is not None:
            await self.submit(posts, last, live=False)

    async def _missed(self, channel: Channel, after: int) -> AsyncIterator[discord.Message]:
        """The channel's messages after `after`, oldest first, at most the limit, without modbot's own."""
        count = 0
        async for message in channel.history(after=discord.Object(after), limit=self.limit, oldest_first=True):
            count += 1
            if not self.is_own(message):
                yield message
        if count >= self.limit:
            log.warning(
                "channel %s: %d or more messages were posted while modbot was away; the oldest %d were "
                "caught up, the rest were not (raise [adapters.discord] catch_up_messages)",
                channel.id,
                self.limit,
                self.limit,
            )

    async def _settle(self, channel_id: int) -> None:
        """The channel is caught up: its cursor goes to the newest message stored there, live or not."""
        self._settled.add(channel_id)
        if (highest := self._stored_up_to.get(channel_id)) is not None:
            await self._save(channel_id, highest)

    async def _release(self) -> None:
        """No round is running: channels no round read (DMs, ones modbot cannot read) get their
        held cursors."""
        for channel_id, highest in list(self._stored_up_to.items()):
            if channel_id not in self._settled:
                await self._save(channel_id, highest)

    async def _save(self, channel_id: int, message_id: int) -> None:
        try:
            await self.sink.save_cursor(CursorUpdate(PLATFORM, channel_key(channel_id), str(message_id)))
        except Exception as exc:  # the next message stored there moves it again; at worst work repeats
            log.warning("channel %s: catch-up position not saved: %s", channel_id, exc)
