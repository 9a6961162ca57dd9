"""Warnings that say why in plain words, and the way back: the warned author replies to the
warning DM or presses its Appeal button (a form asks what they want the moderators to know), and
the appeal opens on the case. The case id travels in the button's custom id, which modbot itself
wrote, so a reply finds its case from the warning it answers, after a restart too."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord

from bot.config import DiscordConfig, DiscordGuildConfig
from moderation.types import RULE_WORDS

APPEAL_ID = re.compile(r"^modbot:appeal:(?P<case>\d+)$")
AppealHandler = Callable[[discord.Interaction[Any], int, str], Awaitable[None]]


def warning_text(config: DiscordConfig, guild: DiscordGuildConfig, server: str, params: Mapping[str, Any]) -> str:
    """The server's template filled in: the rule in plain words, the part that triggered it, how
    to appeal. The quote is the author's own words, shown inertly."""
    evidence = str(params.get("evidence") or "")
    quote = f" The part that broke it: “{_inert(evidence)}”." if evidence else ""
    fields = {
        "server": discord.utils.escape_markdown(server),
        "rule": RULE_WORDS.get(str(params.get("category") or ""), "breaking the server's rules"),
        "quote": quote,
        "appeal": guild.appeal or config.appeal,
    }
    return (guild.warning or config.warning).format_map(fields)[:2000]


def answer_text(server: str, params: Mapping[str, Any]) -> str:
    """The moderators' answer to an appeal, with what an overturn undid and what it cannot."""
    server = discord.utils.escape_markdown(server)
    if not params.get("overturned"):
        text = f"The moderators of **{server}** looked at your appeal again and the decision stands."
    else:
        undone = {"untimeout": "your timeout is lifted", "unban": "your ban is lifted"}
        lifted = [undone[k] for k in params.get("reversed", []) if k in undone]
        text = f"The moderators of **{server}** looked at your appeal again and overturned the decision"
        text += f": {', '.join(lifted)}." if lifted else "."
        if params.get("removed"):
            text += " Your removed message cannot be restored; you are welcome to post it again."
    if answer := str(params.get("answer") or ""):
        text += f"\nTheir note: {_inert(answer)}"
    return text[:2000]


def appeal_view(case_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(AppealButton(case_id))
    return view


def appealed_case(message: discord.Message) -> int | None:
    """The case a warning is about, from its Appeal button (None for any other message)."""
    for row in message.components:
        for item in getattr(row, "children", [row]):
            if (match := APPEAL_ID.match(getattr(item, "custom_id", None) or "")) is not None:
                return int(match["case"])
    return None


class AppealButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=APPEAL_ID.pattern):
    def __init__(self, case_id: int) -> None:
        super().__init__(
            discord.ui.Button(label="Appeal", style=discord.ButtonStyle.secondary, custom_id=f"modbot:appeal:{case_id}")
        )
        self.case_id = case_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AppealButton:
        return cls(int(match["case"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler: AppealHandler = interaction.client.modbot_appeal  # set by the adapter
        await interaction.response.send_modal(AppealForm(self.case_id, handler))


class AppealForm(discord.ui.Modal, title="Appeal to the moderators"):
    why: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="What should the moderators know?", style=discord.TextStyle.paragraph, max_length=1500
    )

    def __init__(self, case_id: int, handler: AppealHandler) -> None:
        super().__init__(timeout=None, custom_id=f"modbot:appeal-form:{case_id}")
        self.case_id = case_id
        self.handler = handler

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await self.handler(interaction, self.case_id, self.why.value)


def _inert(text: str) -> str:
    return discord.utils.escape_mentions(discord.utils.escape_markdown(" ".join(text.split())))
