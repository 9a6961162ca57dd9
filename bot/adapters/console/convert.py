"""The console platform's post format: one JSON object per line (documented in docs/configuration.md).

Every line is untrusted. A line that is not a usable post becomes a `LineError` naming the line and
the problem; it never stops the stream or affects the lines around it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moderation.types import Author, Post

PLATFORM = "console"
_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})")
_ID = re.compile(r"^[^\x00-\x1f]{1,512}$")


@dataclass(frozen=True, slots=True)
class LineError:
    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


def parse_line(raw: bytes, line_no: int, source: str, community: str, max_chars: int) -> Post | LineError | None:
    """One line -> a Post, a LineError, or None for a blank line."""

    def error(message: str) -> LineError:
        return LineError(source, line_no, message)

    if not raw.strip():
        return None
    try:
        text_line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return error(f"not valid UTF-8 (byte {exc.start}: {raw[exc.start : exc.start + 1]!r}); line skipped")
    try:
        obj = json.loads(text_line)
    except json.JSONDecodeError as exc:
        return error(f"not valid JSON ({exc.msg} at column {exc.colno}); line skipped")
    except ValueError as exc:  # an integer of more digits than Python converts
        return error(f"not usable JSON ({str(exc)[:120]}); line skipped")
    except RecursionError:
        return error("JSON nested too deeply; line skipped")
    if not isinstance(obj, dict):
        return error(f"expected a JSON object, got {type(obj).__name__}; line skipped")
    try:
        return _post(obj, line_no, source, community, max_chars)
    except _Invalid as exc:
        return error(f"{exc}; line skipped")


class _Invalid(Exception):
    pass


BOT_NAME = "modbot"
"""A console post that mentions @modbot asks the bot something (for the reply assistant)."""


def _post(obj: dict[str, Any], line_no: int, source: str, community: str, max_chars: int) -> Post:
    text = obj.get("text")
    if not isinstance(text, str):
        raise _Invalid(
            '"text" is required and must be a string'
            if text is None
            else f'"text" must be a string, got {type(text).__name__}'
        )
    if len(text) > max_chars:
        raise _Invalid(f'"text" is {len(text)} characters, over pipeline.max_post_chars ({max_chars})')
    post_id = _string(obj, "id", default=f"{source}:{line_no}", allow_int=True)
    if not _ID.match(post_id):
        raise _Invalid('"id" must be 1-512 characters without control characters')
    author = _author(obj.get("author"))
    created_at = _time(obj.get("created_at"), "created_at")
    links = _string_list(obj, "links") if "links" in obj else tuple(_URL.findall(text))
    mentions = _string_list(obj, "mentions") if "mentions" in obj else tuple(_MENTION.findall(text))
    return Post(
        platform=PLATFORM,
        community=_string(obj, "community", default=community),
        channel=_string(obj, "channel", default="default"),
        id=post_id,
        author=author,
        text=text,
        created_at=created_at or datetime.now(UTC),
        time_known=created_at is not None,
        received_at=created_at,  # a replayed feed arrived when its posts were written
        reply_to=_optional_string(obj, "reply_to"),
        thread_root=_optional_string(obj, "thread_root"),
        links=links,
        mentions=mentions,
        platform_ref={
            "source": source,
            "line": line_no,
            **({"asks_bot": True} if any(m.lower().lstrip("@") == BOT_NAME for m in mentions) else {}),
        },
    )


def _author(value: Any) -> Author:
    if value is None:
        return Author(id="anonymous", anonymous=True)
    if isinstance(value, str | int) and not isinstance(value, bool):
        return Author(id=_clip(str(value), "author"))
    if not isinstance(value, dict):
        raise _Invalid('"author" must be a string id or an object with "id"')
    author_id = value.get("id")
    if not isinstance(author_id, str | int) or isinstance(author_id, bool) or str(author_id) == "":
        raise _Invalid('"author.id" is required (string)')
    roles = value.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise _Invalid('"author.roles" must be a list of strings')
    handle = value.get("handle")
    if handle is not None and not isinstance(handle, str):
        raise _Invalid('"author.handle" must be a string')
    return Author(
        id=_clip(str(author_id), "author.id"),
        handle=_clip(handle, "author.handle") if handle else None,
        account_created_at=_time(value.get("created_at"), "author.created_at"),
        joined_at=_time(value.get("joined_at"), "author.joined_at"),
        roles=tuple(_clip(r, "author.roles") for r in roles),
    )


def _clip(value: str, key: str, limit: int = 200) -> str:
    if len(value) > limit:
        raise _Invalid(f'"{key}" is longer than {limit} characters')
    return value


def _string(obj: dict[str, Any], key: str, default: str, allow_int: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        return default
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise _Invalid(f'"{key}" must be a non-empty string')
    return _clip(value, key, 512)


def _optional_string(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return None if value is None else _string(obj, key, default="", allow_int=True)


def _string_list(obj: dict[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f'"{key}" must be a list of strings')
    return tuple(value[:1000])


def _time(value: Any, key: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise _Invalid(f'"{key}" is not a usable Unix time') from exc
    if not isinstance(value, str):
        raise _Invalid(f'"{key}" must be an ISO 8601 string or Unix seconds')
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Invalid(f'"{key}" is not an ISO 8601 time ({value[:40]!r})') from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
