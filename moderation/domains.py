"""Domain reputation: links to domains a community's moderators listed as low-credibility or scam.

The list is theirs (a text file they edit), not a verdict shipped with modbot: one entry a line,
`domain  category  reason`, where category is `misinformation` or `spam`. A listed domain matches
itself and its subdomains. Links are read from the post's own link list and its raw text (the
normalised text drops markdown link targets, and normalisation must not hide a link).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from moderation.links import urls_in
from moderation.scoring import ScoreResult
from moderation.types import Post

CATEGORIES = ("misinformation", "spam")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


@dataclass(frozen=True, slots=True)
class Listing:
    domain: str
    category: str
    reason: str


class DomainListError(ValueError):
    """A line of the list that cannot be used; the message names the line."""


class DomainReputation:
    name = "domains"

    def __init__(self, listings: Iterable[Listing], score: float = 0.95, version: str = "domains-1") -> None:
        self.listings = {entry.domain: entry for entry in listings}
        self.score = score
        self.version = version

    @classmethod
    def parse(cls, text: str, source: str = "domain list") -> DomainReputation:
        listings = []
        for n, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(None, 2)
            domain = parts[0].lower().rstrip(".")
            category = parts[1] if len(parts) > 1 else ""
            if not _DOMAIN.match(domain):
                raise DomainListError(f"{source}:{n}: {parts[0]!r} is not a domain name")
            if category not in CATEGORIES:
                raise DomainListError(f"{source}:{n}: category must be one of {', '.join(CATEGORIES)}")
            listings.append(Listing(domain, category, parts[2].strip() if len(parts) > 2 else "listed"))
        return cls(listings)

    def match(self, url: str) -> Listing | None:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        labels = host.split(".")
        for i in range(len(labels) - 1):
            entry = self.listings.get(".".join(labels[i:]))
            if entry is not None:
                return entry
        return None

    def check(self, post: Post) -> ScoreResult:
        urls = dict.fromkeys([*post.links, *urls_in(post.text)])
        scores = dict.fromkeys(CATEGORIES, 0.0)
        notes: dict[str, str] = {}
        for url in urls:
            entry = self.match(url)
            if entry is not None and entry.category not in notes:
                scores[entry.category] = self.score
                notes[entry.category] = f"links to {entry.domain}, listed as {entry.category}: {entry.reason}"
        return ScoreResult(scores, notes=notes)
