"""Links in raw text, as a reader would see them: trailing sentence punctuation is not part of a URL."""

from __future__ import annotations

import re

_URL = re.compile(r"https?://[^\s<>()\[\]\"'`“”‘’«»]+", re.IGNORECASE)
"""Typographic quotes end a link too: a quoted answer closes its quote right after one."""


def urls_in(text: str) -> list[str]:
    return [u.rstrip(".,;:!?") for u in _URL.findall(text)]


def without_urls(text: str) -> str:
    return _URL.sub("", text)


def web_link(url: str) -> str:
    """`url` if it is an http(s) address, else "": a fact-check's link is shown to moderators and
    cited in replies, and `javascript:` or `data:` in a feed must never become a link."""
    scheme, sep, rest = url.strip().partition(":")
    return (
        url.strip() if sep and scheme.lower() in ("http", "https") and rest.startswith("//") and len(rest) > 2 else ""
    )
