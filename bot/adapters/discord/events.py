"""Gateway events that discord.py cannot read are skipped, not fatal.

discord.py parses each gateway event in a `parse_<event>` method and lets any exception end the
connection, and with it the service: one `null` where Discord's documentation promised an id, or
roles sent as objects, was a restart loop under systemd. Each parser is wrapped so that its
exception is logged with the event's name and traceback, and the payload is handed on to be kept
in the quarantine with why; the next event is read as usual. READY is left unwrapped: without it
the connection has no session, and failing loudly is the only honest answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord

from bot.adapters.base import raw_bytes
from bot.adapters.discord.convert import PLATFORM
from moderation.types import Quarantined

log = logging.getLogger(__name__)

UNGUARDED = frozenset({"READY"})


def guard_parsers(client: discord.Client, keep: Callable[[Quarantined], None]) -> None:
    """Wrap every event parser of `client` in place. The gateway reads the same dict
    (`DiscordWebSocket._discord_parsers` is the connection state's `parsers`), and discord.py has no
    public hook around parsing, so this reaches into `client._connection`."""
    parsers: dict[str, Callable[[Any], None]] = client._connection.parsers
    for event, parse in list(parsers.items()):
        if event not in UNGUARDED:
            parsers[event] = _guarded(event, parse, keep)


def _guarded(event: str, parse: Callable[[Any], None], keep: Callable[[Quarantined], None]) -> Callable[[Any], None]:
    def guarded(data: Any) -> None:
        try:
            parse(data)
        except Exception as exc:  # any parse failure: this event is skipped, the connection lives
            log.exception("Discord %s event could not be read and was skipped", event)
            keep(
                Quarantined(
                    PLATFORM, "gateway", f"{event} {_id_of(data)}", f"{type(exc).__name__}: {exc}", raw_bytes(data)
                )
            )

    return guarded


def _id_of(data: Any) -> str:
    value = data.get("id") if isinstance(data, dict) else None
    return value[:40] if isinstance(value, str) else "(no id)" if value is None else f"(id is {type(value).__name__})"
