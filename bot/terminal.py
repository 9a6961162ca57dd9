"""Text from posts made safe to print in a moderator's terminal (`modbot case`, `modbot queue`).

Posts are written by strangers: escape sequences in one can clear the screen, recolour it, retitle
the window or write to the clipboard (OSC 52) when a moderator reads it. Every control character
but tab and newline is shown as its code instead, and rich's markup is escaped so that "[red]" in a
post prints as written.
"""

from __future__ import annotations

import re

from rich.markup import escape as escape_markup

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    return escape_markup(_CONTROLS.sub(lambda m: f"\\x{ord(m[0]):02x}", text))
