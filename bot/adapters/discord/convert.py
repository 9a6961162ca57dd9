"""discord.py objects -> modbot's plain types. Nothing from discord.py goes further than this."""

from __future__ import annotations

import hashlib
import re

import discord

from bot.storage.records import revision_id
from moderation.normalise import normalise
from moderation.types import Author, Decision, Outcome, Post, Reason, Span

PLATFORM = "discord"
DM_COMMUNITY = "dm"
"""Community of direct messages to the bot: questions for the reply assistant, never acted on."""
TIMEOUT_CAP_SECONDS = 28 * 24 * 3600
"""Discord refuses timeouts longer than 28 days."""
_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)


def to_post(message: discord.Message, edited: bool = False, asks_bot: bool = False) -> Post:
    """A guild message (or an edit of one: a new revision with its own id), or a direct message to
    the bot (community `dm`), as a Post.

    Attachment names are appended to the text so that they are scored too; roles are given by id
    and by name, so exempt_roles may use either."""
    guild_id = str(message.guild.id) if message.guild is not None else None
    author = message.author
    roles: tuple[str, ...] = ()
    joined_at = None
    if isinstance(author, discord.Member):
        own = [r for r in author.roles if not r.is_default()]
        roles = tuple(str(r.id) for r in own) + tuple(r.name for r in own)
        joined_at = author.joined_at
    content = message.content or ""  # a server may send null for a message with only attachments
    text = content + "".join(f"\n[attachment: {a.filename}]" for a in message.attachments)
    channel = message.channel
    thread_root = str(channel.id) if isinstance(channel, discord.Thread) else None
    post_id = str(message.id)
    if edited:
        stamp = message.edited_at.timestamp() if message.edited_at else 0.0
        post_id = revision_id(post_id, stamp)
    return Post(
        platform=PLATFORM,
        community=guild_id or DM_COMMUNITY,
        channel=str(channel.id),
        id=post_id,
        author=Author(
            id=str(author.id),
            handle=author.name,
            account_created_at=author.created_at,
            joined_at=joined_at,
            roles=roles,
        ),
        text=text,
        created_at=message.edited_at if edited and message.edited_at else message.created_at,
        reply_to=str(message.reference.message_id) if message.reference and message.reference.message_id else None,
        thread_root=thread_root,
        links=tuple(_URL.findall(content)) + tuple(a.url for a in message.attachments),
        mentions=tuple(str(u.id) for u in message.mentions),
        platform_ref={
            "guild_id": guild_id,
            "channel_id": str(channel.id),
            "message_id": str(message.id),
            "author_id": str(author.id),
            "parent_id": str(channel.parent_id) if isinstance(channel, discord.Thread) else None,
            **({"dm": True} if guild_id is None else {}),
            **({"asks_bot": True} if asks_bot or guild_id is None else {}),
        },
    )


_AUTOMOD_OUTCOME = {
    discord.AutoModRuleActionType.block_message: Outcome.REMOVE,
    discord.AutoModRuleActionType.timeout: Outcome.TIMEOUT,
    discord.AutoModRuleActionType.send_alert_message: Outcome.LOG,
}


def automod_record(execution: discord.AutoModAction) -> tuple[Post, Decision]:
    """Discord's own AutoMod acted: log it as a decision by Discord, so the decision log is whole."""
    kind = execution.action.type
    outcome = _AUTOMOD_OUTCOME.get(kind, Outcome.LOG)
    text = execution.content or ""
    trigger = execution.rule_trigger_type.name
    # Idempotent across gateway replays: the same execution always gets the same id.
    fingerprint = hashlib.sha256(
        f"{execution.rule_id}|{execution.user_id}|{execution.channel_id}|{execution.message_id}|"
        f"{execution.alert_system_message_id}|{text}".encode()
    ).hexdigest()[:16]
    post = Post(
        platform=PLATFORM,
        community=str(execution.guild_id),
        channel=str(execution.channel_id or "none"),
        id=f"automod:{fingerprint}:{kind.name}",
        author=Author(id=str(execution.user_id)),
        text=text,
        created_at=discord.utils.utcnow(),
        platform_ref={
            "guild_id": str(execution.guild_id),
            "channel_id": str(execution.channel_id) if execution.channel_id else None,
            "message_id": str(execution.message_id) if execution.message_id else None,
            "author_id": str(execution.user_id),
        },
    )
    matched = execution.matched_content or execution.matched_keyword or ""
    start = text.find(matched) if matched else -1
    spans = (Span(start, start + len(matched)),) if start >= 0 else ()
    message = f"Discord AutoMod rule {execution.rule_id} ({trigger}) matched {matched!r}: {kind.name}"
    decision = Decision(
        outcome=outcome,
        scores={},
        scores_by_scorer={},
        reasons=(Reason("discord-automod", f"automod_{trigger}", 1.0, 1.0, outcome, message, spans),),
        scorer_versions={"discord-automod": "discord"},
        policy_version="discord-automod",
        shadow=False,
        normalised_text=normalise(text).text,
    )
    return post, decision
