"""A case as a Discord embed with review buttons.

The buttons are `DynamicItem`s whose custom id carries the case id and the verb, so they keep
working after a restart: discord.py matches them by pattern, no view has to be remembered.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.storage.records import ActionState, CaseState, CaseView, Resolution
from moderation.types import Span

VERBS = ("approve", "remove", "timeout", "ban", "escalate")
APPEAL_VERBS = ("uphold", "overturn")
"""The buttons of an appealed case: the decision stands, or it was wrong."""
_STYLE = {
    "uphold": discord.ButtonStyle.danger,
    "overturn": discord.ButtonStyle.success,
    "approve": discord.ButtonStyle.success,
    "remove": discord.ButtonStyle.danger,
    "timeout": discord.ButtonStyle.secondary,
    "ban": discord.ButtonStyle.danger,
    "escalate": discord.ButtonStyle.primary,
}
_EXCERPT = 900
ACTED = ("remove", "hide", "timeout", "kick", "ban", "warn")

ButtonHandler = Callable[[discord.Interaction[Any], int, str], Awaitable[None]]


class CaseButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"modbot:case:(?P<case>\d+):(?P<verb>approve|remove|timeout|ban|escalate|uphold|overturn)",
):
    def __init__(self, case_id: int, verb: str, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=verb.capitalize(),
                style=_STYLE[verb],
                custom_id=f"modbot:case:{case_id}:{verb}",
                disabled=disabled,
            )
        )
        self.case_id = case_id
        self.verb = verb

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> CaseButton:
        return cls(int(match["case"]), match["verb"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler: ButtonHandler = interaction.client.modbot_case_button  # set by the adapter
        await handler(interaction, self.case_id, self.verb)


MISSED = ("hate", "harassment", "threat", "spam", "misinformation")
"""What a moderator can say an allowed post should have been flagged for (one row of buttons)."""
MissedHandler = Callable[[discord.Interaction[Any], int, str], Awaitable[None]]


class MissedButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"modbot:missed:(?P<message>\d+):(?P<category>hate|harassment|threat|spam|misinformation)",
):
    """Under "Check with modbot" on a post it allowed: it should have been flagged for this."""

    def __init__(self, message_id: int, category: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=f"Missed: {category}",
                style=discord.ButtonStyle.secondary,
                custom_id=f"modbot:missed:{message_id}:{category}",
            )
        )
        self.message_id = message_id
        self.category = category

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> MissedButton:
        return cls(int(match["message"]), match["category"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler: MissedHandler = interaction.client.modbot_missed  # set by the adapter
        await handler(interaction, self.message_id, self.category)


def missed_buttons(message_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for category in MISSED:
        view.add_item(MissedButton(message_id, category))
    return view


def buttons(case: CaseView) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    closed = case.state == CaseState.CLOSED
    if case.appeal is not None:
        for verb in APPEAL_VERBS:
            view.add_item(CaseButton(case.id, verb, disabled=case.state != CaseState.APPEALED))
        return view
    for verb in VERBS:
        view.add_item(
            CaseButton(case.id, verb, disabled=closed or (verb == "escalate" and case.state == CaseState.ESCALATED))
        )
    return view


def case_embed(case: CaseView, record: dict[str, int]) -> discord.Embed:
    d = case.decision
    colour = discord.Colour.green() if case.resolution == Resolution.APPROVED else discord.Colour.red()
    if case.state != CaseState.CLOSED:
        colour = discord.Colour.orange() if case.state == CaseState.OPEN else discord.Colour.purple()
    title = f"Case {case.id}: {d.outcome.value}" + (" (shadow mode)" if d.shadow else "")
    title += " · appealed" if case.appeal is not None else ""
    embed = discord.Embed(title=title, colour=colour, timestamp=case.opened_at)
    embed.description = _excerpt(case.post.text, [s for r in d.reasons for s in r.spans])
    embed.add_field(name="Author", value=f"<@{case.post.author.id}> ({_safe(case.post.author.handle or '')})")
    embed.add_field(name="Channel", value=f"<#{case.post.channel}>")
    scores = sorted(d.scores.items(), key=lambda kv: -kv[1])[:6]
    if scores:
        embed.add_field(name="Scores", value="\n".join(f"{k}: {v:.2f}" for k, v in scores), inline=False)
    reasons = "\n".join(f"• {_safe(r.message)}" for r in d.reasons)[:1000]
    embed.add_field(name="Why", value=reasons or "no reason recorded", inline=False)
    history = ", ".join(f"{k} {v}" for k, v in sorted(record.items()) if v) or "nothing else in 90 days"
    embed.add_field(name="Author's record (90 days)", value=history, inline=False)
    if case.state == CaseState.CLOSED:
        embed.add_field(name="Resolved", value=f"{case.resolution} by {_safe(case.closed_by or '?')}", inline=False)
    elif case.state == CaseState.ESCALATED:
        embed.add_field(name="Escalated", value=_safe(case.note or "for senior moderators"), inline=False)
    if (appeal := case.appeal) is not None:
        said = _safe(appeal.text)[:900] or "(no reason given)"
        embed.add_field(name=f"Appeal by the author ({appeal.state})", value=said, inline=False)
        done = ", ".join(a.kind for a in case.actions if a.state == ActionState.DONE and a.kind in ACTED)
        original = f"{d.outcome.value}; carried out: {done or 'nothing yet'}"
        embed.add_field(name="Original decision", value=original, inline=False)
    embed.set_footer(text=f"policy {d.policy_version} · decision {d.id}")
    return embed


def _safe(text: str) -> str:
    """Attacker-controlled text shown inertly: no markdown, no pings."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def _excerpt(text: str, spans: list[Span]) -> str:
    """The post with evidence in bold, around the first span, within Discord's limits."""
    first = min((s.start for s in spans), default=0)
    start = max(0, first - _EXCERPT // 3)
    end = min(len(text), start + _EXCERPT)
    pieces, pos = [], start
    for span in sorted({(s.start, s.end) for s in spans}):
        a, b = max(span[0], pos), min(span[1], end)
        if a >= b:
            continue
        pieces.append(_safe(text[pos:a]))
        pieces.append(f"**__{_safe(text[a:b])}__**")
        pos = b
    pieces.append(_safe(text[pos:end]))
    return ("…" if start > 0 else "") + "".join(pieces) + ("…" if end < len(text) else "") or "(empty post)"
