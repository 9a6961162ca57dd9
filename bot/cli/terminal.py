"""Text from posts made safe to print in a moderator's terminal (`modbot case`, `modbot queue`).

Posts are written by strangers: escape sequences in one can clear the screen, recolour it, retitle
the window or write to the clipboard (OSC 52) when a moderator reads it. Every control character
but tab and newline is shown as its code instead, and rich's markup is escaped so that "[red]" in a
post prints as written.
"""

from __future__ import annotations

from rich.markup import escape as escape_markup

from moderation.cleaning import visible_controls


def escape(text: str) -> str:
    return escape_markup(visible_controls(text))
