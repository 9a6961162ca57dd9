"""Which Discord permissions each thing modbot does needs: for the invite link (ask for the least)
and for the start-up check (say once, per guild, what cannot be done and why)."""

from __future__ import annotations

from collections.abc import Iterable

import discord

from bot.config import DiscordConfig
from moderation.actions import REVERSALS

READ = discord.Permissions(view_channel=True, read_message_history=True)
NEEDS: dict[str, discord.Permissions] = {
    "remove": discord.Permissions(manage_messages=True),
    "timeout": discord.Permissions(moderate_members=True),
    "kick": discord.Permissions(kick_members=True),
    "ban": discord.Permissions(ban_members=True),
    "warn": discord.Permissions(send_messages=True),
    "alert": discord.Permissions(send_messages=True, embed_links=True),
    "reply": discord.Permissions(send_messages=True),
    "untimeout": discord.Permissions(moderate_members=True),
    "unban": discord.Permissions(ban_members=True),
    "appeal_alert": discord.Permissions(send_messages=True, embed_links=True),
    "appeal_answer": discord.Permissions(send_messages=True),
}


def kinds_taken(config: DiscordConfig) -> list[str]:
    """Every kind any path can queue: the outcome mapping (automatic decisions and moderators'
    verdicts both follow it), case alerts and the reply assistant's replies."""
    kinds = {k for ks in config.actions.values() for k in ks} | {"alert", "reply", "appeal_alert", "appeal_answer"}
    return sorted(kinds | {REVERSALS[k] for k in kinds if k in REVERSALS})


def required(kinds: Iterable[str]) -> discord.Permissions:
    perms = discord.Permissions(READ.value)
    for kind in kinds:
        perms.value |= NEEDS["remove" if kind == "hide" else kind].value
    return perms


def missing(have: discord.Permissions, kinds: Iterable[str]) -> list[str]:
    """One line per thing modbot cannot do with `have`, naming the permission it lacks."""
    if have.administrator:
        return []
    out = []
    for kind in ["read", *sorted(set(kinds))]:
        need = READ if kind == "read" else NEEDS["remove" if kind == "hide" else kind]
        lacking = [name for name, value in need if value and not getattr(have, name)]
        if lacking:
            names = ", ".join(n.replace("_", " ").title() for n in lacking)
            out.append(f"cannot {kind if kind != 'read' else 'read messages'}: missing {names}")
    return out


def invite_url(application_id: str, kinds: Iterable[str]) -> str:
    return discord.utils.oauth_url(
        int(application_id), permissions=required(kinds), scopes=("bot", "applications.commands")
    )
