"""modbot's slash commands and its message context menu on Discord: the review desk's queue,
case, shadow switch and status, and an ad-hoc check of one message, all for moderators only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands

from bot.adapters.base import DecisionSink, ReviewDesk
from bot.adapters.discord.cases import buttons, case_embed, missed_buttons
from bot.adapters.discord.convert import PLATFORM, to_post
from bot.config import DiscordGuildConfig
from bot.storage.records import CaseView


def actor_name(member: discord.Member | discord.User) -> str:
    """Who acted, for the audit log: the Discord id (stable) and the name (readable)."""
    return f"discord:{member.id} ({member.name})"


async def author_record(desk: ReviewDesk, case: CaseView) -> dict[str, int]:
    return await desk.author_record(case.post.platform, case.post.community, case.post.author.id)


class SlashCommands:
    """Built once per client; `is_moderator` and `guild_config` are the adapter's, so commands and
    case buttons apply the same rule for who may act."""

    def __init__(
        self,
        desk: ReviewDesk,
        sink: DecisionSink,
        is_moderator: Callable[[discord.Member | discord.User], bool],
        guild_config: Callable[[int | str], DiscordGuildConfig],
    ) -> None:
        self.desk = desk
        self.sink = sink
        self.is_moderator = is_moderator
        self.guild_config = guild_config

    def install(self, tree: app_commands.CommandTree[Any]) -> None:
        tree.add_command(self._review_group())
        tree.add_command(self._check_menu())

    def _review_group(self) -> app_commands.Group:
        group = app_commands.Group(
            name="modbot",
            description="modbot moderation",
            default_permissions=discord.Permissions(manage_messages=True),
            guild_only=True,
        )

        @group.command(name="queue", description="Open cases in this server")
        async def queue(interaction: discord.Interaction[Any]) -> None:
            if not await self.gate(interaction):
                return
            cases = await self.desk.open_cases(PLATFORM, str(interaction.guild_id), 10)
            if not cases:
                await interaction.response.send_message("No open cases.", ephemeral=True)
                return
            lines = [
                f"**{c.id}** {c.decision.outcome.value} · <@{c.post.author.id}> · "
                f"{discord.utils.escape_markdown(c.decision.reasons[0].message if c.decision.reasons else '')}"
                for c in cases
            ]
            await interaction.response.send_message("\n".join(lines)[:1900], ephemeral=True)

        @group.command(name="case", description="Show one case")
        @app_commands.describe(case_id="the case number")
        async def case(interaction: discord.Interaction[Any], case_id: int) -> None:
            if not await self.gate(interaction):
                return
            view = await self.desk.case(case_id)
            if view is None or view.post.platform != PLATFORM or view.post.community != str(interaction.guild_id):
                await interaction.response.send_message(f"No case {case_id} in this server.", ephemeral=True)
                return
            record = await author_record(self.desk, view)
            await interaction.response.send_message(embed=case_embed(view, record), view=buttons(view), ephemeral=True)

        @group.command(name="shadow", description="Shadow mode: decide and log, never act")
        @app_commands.choices(
            state=[app_commands.Choice(name="on", value="on"), app_commands.Choice(name="off", value="off")]
        )
        async def shadow(interaction: discord.Interaction[Any], state: app_commands.Choice[str]) -> None:
            if not await self.gate(interaction):
                return
            on = state.value == "on"
            community = str(interaction.guild_id)
            origin = f"discord:guild {community} /modbot shadow"
            await self.desk.set_shadow(PLATFORM, community, on, actor_name(interaction.user), origin)
            await interaction.response.send_message(
                f"Shadow mode is {'on: modbot decides and logs but does not act' if on else 'off: modbot acts'}.",
                ephemeral=True,
            )

        @group.command(name="status", description="What modbot does here and today's counts")
        async def status(interaction: discord.Interaction[Any]) -> None:
            if not await self.gate(interaction):
                return
            community = str(interaction.guild_id)
            midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            now = await self.desk.status(PLATFORM, community, midnight)
            scorers = ", ".join(f"{k} {v}" for k, v in now.scorers.items())
            text = (
                f"Scorers: {scorers}\nShadow mode: {'on' if now.shadow else 'off'}\nPolicy: {now.policy_version}\n"
                f"Mod channel: {self.guild_config(community).mod_channel or 'not configured'}\n"
                f"Today: " + (", ".join(f"{k} {v}" for k, v in sorted(now.counts.items())) or "no decisions yet")
            )
            await interaction.response.send_message(text, ephemeral=True)

        return group

    def _check_menu(self) -> app_commands.ContextMenu:
        @app_commands.context_menu(name="Check with modbot")
        @app_commands.default_permissions(manage_messages=True)
        @app_commands.guild_only()
        async def check(interaction: discord.Interaction[Any], message: discord.Message) -> None:
            if not await self.gate(interaction):
                return
            [decision] = await self.sink.check([to_post(message)])
            scores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(decision.scores.items(), key=lambda kv: -kv[1]))
            reasons = "\n".join(f"• {discord.utils.escape_markdown(r.message)}" for r in decision.reasons)
            text = f"**{decision.outcome.value}**{' (shadow)' if decision.shadow else ''}\n{scores}\n{reasons}"[:1800]
            if decision.outcome.needs_review:
                await interaction.response.send_message(text, ephemeral=True)
                return
            text += "\nShould it have been flagged? A case opens in the queue, and its verdict teaches the filter."
            await interaction.response.send_message(text, ephemeral=True, view=missed_buttons(message.id))

        return check

    async def gate(self, interaction: discord.Interaction[Any]) -> bool:
        if self.is_moderator(interaction.user):
            return True
        await interaction.response.send_message("modbot commands are for moderators.", ephemeral=True)
        return False
