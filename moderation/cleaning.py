"""Posts made storable on every database before they reach the store, whatever the platform sent.

One hostile or broken value must not stop ingest: PostgreSQL refuses NUL in text, neither
database's driver encodes a lone UTF-16 surrogate ("\\ud800" in JSON), and a time at the edge of
the calendar ("9999-12-31T23:59:59-14:00") overflows when it is turned into UTC. Every adapter's
posts pass through `storable` at the store's door, so the rule lives in one place.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from moderation.types import Author, Post

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL (PostgreSQL text cannot hold it) and surrogates (only a pair is a character, and Python
keeps an unpaired one as a code point no driver encodes)."""
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def clean_text(value: str) -> str:
    """The text as written, except: a surrogate pair joined into its character, a lone surrogate
    and NUL each U+FFFD (seen as "something was here", unlike a silent deletion). Controls that
    steer terminals stay: they are made visible where text is shown in a terminal (bot/cli/terminal.py)."""
    if not _UNSTORABLE.search(value):
        return value
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value.replace("\x00", "\ufffd")


def visible_controls(text: str) -> str:
    """Every control character but tab and newline as its code (`\\x1b`): shown to a moderator,
    an escape sequence in a post must read as what it is, not act on the terminal or hide text."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    return value


def _optional(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def usable_time(value: datetime | None) -> datetime | None:
    """The time in UTC, or None where it cannot be one (before 1971, after 9000, or overflowing)."""
    if value is None:
        return None
    try:
        utc = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return utc if EARLIEST <= utc <= LATEST else None


def storable(post: Post, now: datetime) -> Post:
    """The post with every text field cleaned and every time usable; a creation time that is not
    one becomes `now` with `time_known` off, as for a source that gives no time."""
    author = post.author
    cleaned_author = Author(
        id=clean_text(author.id),
        handle=_optional(author.handle),
        account_created_at=usable_time(author.account_created_at),
        joined_at=usable_time(author.joined_at),
        roles=tuple(clean_text(r) for r in author.roles),
        anonymous=author.anonymous,
    )
    created = usable_time(post.created_at)
    return replace(
        post,
        platform=clean_text(post.platform),
        community=clean_text(post.community),
        channel=clean_text(post.channel),
        id=clean_text(post.id),
        author=cleaned_author,
        text=clean_text(post.text),
        created_at=created or now,
        time_known=post.time_known and created is not None,
        reply_to=_optional(post.reply_to),
        thread_root=_optional(post.thread_root),
        links=tuple(clean_text(u) for u in post.links),
        mentions=tuple(clean_text(m) for m in post.mentions),
        platform_ref=_clean_json(dict(post.platform_ref)),
        received_at=usable_time(post.received_at) or now,
    )
