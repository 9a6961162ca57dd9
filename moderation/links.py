"""Links in raw text, as a reader would see them: trailing sentence punctuation is not part of a URL."""

from __future__ import annotations

import re

_URL = re.compile(r"https?://[^\s<>()\[\]\"'`]+", re.IGNORECASE)


def urls_in(text: str) -> list[str]:
    return [u.rstrip(".,;:!?") for u in _URL.findall(text)]


def without_urls(text: str) -> str:
    return _URL.sub("", text)
