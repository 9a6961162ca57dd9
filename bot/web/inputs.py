"""What the dashboard and the API accept from a request, checked before anything reaches the
database: a malformed value is a 400 that says which one and why (JSON under /api/), never a 500
from deep inside a query (`inf` as a page, an id past 64 bits, a number in Arabic-Indic digits,
a note that is a list)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from moderation.cleaning import clean_text

MAX_ID = 2**63 - 1
MAX_BULK = 500
"""case ids one bulk verdict takes at most (20,000 held the database for ten seconds)"""
MAX_NOTE = 4000
MAX_NAME = 100
_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")


class BadInput(ValueError):
    """A request value the dashboard refuses; the message names it and is safe to show."""


def path_id(raw: str, what: str = "id") -> int:
    """A row id from the URL; one no row can have is a LookupError (a 404), not an overflow."""
    value = int(raw) if raw.isascii() and raw.isdigit() else -1
    if not 0 < value <= MAX_ID:
        raise LookupError(f"no {what} {raw[:30]}")
    return value


def number(query: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    """An optional decimal number between `low` and `high`, in ASCII digits."""
    raw = query.get(name, "").strip()
    if not raw:
        return None
    if not _DECIMAL.fullmatch(raw):
        raise BadInput(f"{name} must be a number")
    value = float(raw)
    if not math.isfinite(value) or not low <= value <= high:
        raise BadInput(f"{name} must be between {low:g} and {high:g}")
    return value


def query_text(query: Mapping[str, str], name: str, limit: int = 200) -> str:
    """A free-text filter from the query string, cut to `limit` and cleaned as stored text is
    (a NUL would make PostgreSQL refuse the query)."""
    return clean_text(query.get(name, "")[:limit])


def text_or_none(body: Mapping[str, Any], name: str, limit: int) -> str | None:
    """An optional string field of a JSON body, at most `limit` characters."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadInput(f"{name} must be a string or null")
    if len(value) > limit:
        raise BadInput(f"{name} is longer than {limit} characters")
    return value


def case_ids(values: list[Any]) -> list[int]:
    """The distinct ids of a bulk request: integers (not booleans), at most MAX_BULK of them."""
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in values):
        raise BadInput("cases must be integer ids")
    if not all(0 < i <= MAX_ID for i in values):
        raise BadInput(f"case ids are between 1 and {MAX_ID}")
    ids = sorted(set(values))
    if len(ids) > MAX_BULK:
        raise BadInput(f"at most {MAX_BULK} cases at once")
    return ids
