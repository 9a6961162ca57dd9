"""Spam and coordinated-abuse rules: small pure functions over a post and counter reads.

Each rule returns a score for the `spam` category and a sentence a moderator can read, or
nothing. What to count is returned too, and applied only after every rule has run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from moderation.counters import Counters
from moderation.normalise import Normalised
from moderation.scoring import ScoreResult
from moderation.types import Post


@dataclass(frozen=True, slots=True)
class SpamSettings:
    author_burst: int = 8
    """posts by one author within `burst_seconds` that make a burst"""
    burst_seconds: int = 60
    community_burst: int = 300
    duplicate_accounts: int = 3
    """distinct accounts posting near-identical text within `duplicate_seconds`"""
    duplicate_seconds: int = 600
    max_links: int = 4
    max_mentions: int = 6
    new_account_hours: int = 24

    @property
    def horizon(self) -> int:
        """The longest window a rule reads: counters may forget anything older."""
        return max(self.burst_seconds, self.duplicate_seconds)


@dataclass(frozen=True, slots=True)
class Hit:
    rule: str
    score: float
    message: str


@dataclass(frozen=True, slots=True)
class Context:
    post: Post
    text: Normalised
    counters: Counters
    settings: SpamSettings
    now: float
    fingerprint: tuple[str, ...]
    """of the post's content (`content_of`)"""
    content: str


_NOT_CONTENT = re.compile(r"@[\w.-]+|<[@#][!&]?\d+>|https?://\S+|www\.\S+")
"""mentions (a handle, or Discord's <@id>, <#id>, <@&id>) and links"""
DUPLICATE_MIN = 20
"""content shorter than this is not compared: "thanks!" from many people is not coordination"""


def content_of(text: str) -> str:
    """What near-duplicates are compared on: the text without mentions and links. Three short
    replies that all begin "@alice.test" are not one text, and a campaign that changes only its
    link is."""
    return " ".join(_NOT_CONTENT.sub(" ", text).split())


Rule = Callable[[Context], Hit | None]
_WORD = re.compile(r"[^\W_]+")


def fingerprint(text: str, bands: int = 16, rows: int = 2) -> tuple[str, ...]:
    """Near-duplicate keys: MinHash over word pairs, cut into LSH bands. Two texts share a band with
    probability 1 - (1 - J^rows)^bands for Jaccard similarity J: a one-word edit of a tweet-length
    text (J ~ 0.8) almost always shares one; unrelated texts (J ~ 0) practically never do.

    Each shingle is hashed once; the bands * rows hash functions are that hash mixed with a salt
    each (splitmix64's finaliser), all at once in numpy rather than one digest per salt."""
    words = _WORD.findall(text.lower())
    shingles = {" ".join(words[i : i + 2]) for i in range(max(1, len(words) - 1))} if words else {text}
    base = np.fromiter(
        (int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big") for s in shingles),
        dtype=np.uint64,
        count=len(shingles),
    )
    mins = _mix(base[None, :] ^ _SALTS[: bands * rows, None]).min(axis=1)
    return tuple(
        f"{b}:" + hashlib.blake2b(mins[b * rows : (b + 1) * rows].tobytes(), digest_size=6).hexdigest()
        for b in range(bands)
    )


_SALTS = np.random.default_rng(20261129).integers(0, 2**63, size=256, dtype=np.uint64)


def _mix(z: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64's finaliser: a bijection on 64-bit words that scatters every input bit."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def author_burst(ctx: Context) -> Hit | None:
    if ctx.post.author.anonymous or not ctx.post.time_known:
        return None
    s = ctx.settings
    n = ctx.counters.count(f"author:{ctx.post.platform}:{ctx.post.author.id}", s.burst_seconds, ctx.now) + 1
    if n < s.author_burst:
        return None
    return Hit(
        "author_burst",
        min(1.0, 0.6 + 0.05 * (n - s.author_burst)),
        f"author posted {n} times in {s.burst_seconds}s (burst at {s.author_burst})",
    )


def community_burst(ctx: Context) -> Hit | None:
    if not ctx.post.time_known:
        return None
    s = ctx.settings
    n = ctx.counters.count(f"community:{ctx.post.platform}:{ctx.post.community}", s.burst_seconds, ctx.now) + 1
    if n < s.community_burst:
        return None
    return Hit(
        "community_burst", 0.5, f"{n} posts in this community in {s.burst_seconds}s (raid level {s.community_burst})"
    )


def duplicates(ctx: Context) -> Hit | None:
    if len(ctx.content) < DUPLICATE_MIN or not ctx.post.time_known:
        return None
    s = ctx.settings
    accounts = max(
        ctx.counters.count(f"dup:{ctx.post.platform}:{band}", s.duplicate_seconds, ctx.now) for band in ctx.fingerprint
    )
    author_key = ctx.post.account_key
    already = any(  # this account is one of those counted already
        ctx.counters.seen(f"dup:{ctx.post.platform}:{band}", author_key, s.duplicate_seconds, ctx.now)
        for band in ctx.fingerprint
    )
    n = accounts + (0 if already else 1)
    if n < s.duplicate_accounts:
        return None
    return Hit(
        "near_duplicates",
        min(1.0, 0.7 + 0.1 * (n - s.duplicate_accounts)),
        f"{n} accounts posted near-identical text within {s.duplicate_seconds}s",
    )


def link_flood(ctx: Context) -> Hit | None:
    n = len(set(ctx.post.links))
    if n <= ctx.settings.max_links:
        return None
    return Hit("link_flood", min(1.0, 0.6 + 0.1 * (n - ctx.settings.max_links)), f"{n} links in one post")


def mention_flood(ctx: Context) -> Hit | None:
    n = len(set(ctx.post.mentions))
    if n <= ctx.settings.max_mentions:
        return None
    return Hit("mention_flood", min(1.0, 0.6 + 0.1 * (n - ctx.settings.max_mentions)), f"{n} mentions in one post")


def new_account_links(ctx: Context) -> Hit | None:
    age = ctx.post.account_age
    hours = ctx.settings.new_account_hours
    if age is None or not ctx.post.links or age.total_seconds() >= hours * 3600:
        return None
    return Hit(
        "new_account_links", 0.5, f"account {age.total_seconds() / 3600:.1f}h old posts links (new under {hours}h)"
    )


RULES: tuple[Rule, ...] = (author_burst, community_burst, duplicates, link_flood, mention_flood, new_account_links)


def evaluate(ctx: Context) -> list[Hit]:
    return [hit for rule in RULES if (hit := rule(ctx)) is not None]


def record(ctx: Context) -> None:
    """The counting a post causes, applied after its rules ran."""
    post, c, now = ctx.post, ctx.counters, ctx.now
    if not post.time_known:
        return  # nothing to count in a window: its time is only when it was read
    if not post.author.anonymous:
        c.add(f"author:{post.platform}:{post.author.id}", post.id, now)
    c.add(f"community:{post.platform}:{post.community}", post.id, now)
    if len(ctx.content) >= DUPLICATE_MIN:
        for band in ctx.fingerprint:
            c.add(f"dup:{post.platform}:{band}", post.account_key, now)


class SpamRules:
    """The rules as one scorer-like stage: `spam` score = the strongest hit; every hit in words."""

    name = "spam-rules"
    version = "spam-rules-4"

    def __init__(self, counters: Counters, settings: SpamSettings | None = None) -> None:
        self.counters = counters
        self.settings = settings or SpamSettings()

    def check(self, post: Post, text: Normalised, count: bool = True) -> ScoreResult:
        """Score a post; `count=False` for looking at a post without it counting (a "check this")."""
        now = post.counted_at.timestamp()
        content = content_of(text.text)
        ctx = Context(post, text, self.counters, self.settings, now, fingerprint(content), content)
        hits = evaluate(ctx)
        if count:
            record(ctx)
        if not hits:
            return ScoreResult({"spam": 0.0})
        notes = "; ".join(f"{h.rule}: {h.message}" for h in sorted(hits, key=lambda h: -h.score))
        return ScoreResult({"spam": round(max(h.score for h in hits), 3)}, notes={"spam": notes})
