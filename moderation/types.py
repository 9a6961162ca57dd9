"""Plain typed data that crosses every boundary: what adapters produce and what the filter returns.

Nothing here knows about a platform SDK or a database; adapters translate into these types and the
store serialises them, so the filter layer can be tested and reasoned about on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """What policy decided, in increasing order of severity."""

    ALLOW = "allow"
    LOG = "log"
    FLAG = "flag"
    HIDE = "hide"
    REMOVE = "remove"
    TIMEOUT = "timeout"
    BAN = "ban"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def needs_review(self) -> bool:
        """Flag and every intervention open a case, so moderators see (and can overturn) them."""
        return self.severity >= _SEVERITY[Outcome.FLAG]

    @property
    def is_action(self) -> bool:
        """Outcomes that change something on the platform (carried out unless shadow mode)."""
        return self.severity >= _SEVERITY[Outcome.HIDE]


_SEVERITY = {o: i for i, o in enumerate(Outcome)}

CATEGORIES: tuple[str, ...] = (
    "hate",
    "harassment",
    "threat",
    "sexual",
    "profanity",
    "toxicity",
    "spam",
    "misinformation",
)
"""Score categories a policy may set thresholds on, named for what a moderator decides about:
`hate` attacks people for a protected attribute (religion, ethnicity, gender, sexuality,
disability...); `harassment` insults or attacks a person or a group that is not protected;
`threat` threatens or calls for violence; `sexual` is sexually explicit; `profanity` is swearing
itself, whoever it is aimed at (evidence, not a verdict); `toxicity` is rudeness of any kind;
`spam` and `misinformation` as the words say."""

RULE_WORDS: dict[str, str] = {
    "hate": "attacking people for who they are (their religion, ethnicity, gender, sexuality or disability)",
    "harassment": "insulting or harassing someone",
    "threat": "threatening someone",
    "sexual": "sexual content",
    "profanity": "strong language",
    "toxicity": "abusive language",
    "spam": "spam",
    "misinformation": "a claim that fact-checkers have rated false",
}
"""Each category as a warning tells the author which rule their post broke: plain words, no scores."""

ABUSE: tuple[str, ...] = CATEGORIES[:6]
"""The categories the text classifiers score (spam and misinformation come from rules and matching)."""

RENAMED: dict[str, str] = {
    "identity_attack": "hate",
    "insult": "harassment",
    "sexual_explicit": "sexual",
    "obscene": "profanity",
    "severe_toxicity": "toxicity",
}
"""Category names before modbot 0.6 (detoxify's) and the category each became; used to migrate
stored decisions and to explain a configuration that still uses them."""


@dataclass(frozen=True, slots=True)
class Author:
    id: str
    handle: str | None = None
    account_created_at: datetime | None = None
    joined_at: datetime | None = None
    roles: tuple[str, ...] = ()
    anonymous: bool = False
    """The source named no author (a feed of bare texts): `id` is a placeholder shared by every
    such post, so nothing may count posts per author by it."""


@dataclass(frozen=True, slots=True)
class Post:
    """One post as every adapter hands it to the pipeline. `id` is the platform's id for it."""

    platform: str
    community: str
    channel: str
    id: str
    author: Author
    text: str
    created_at: datetime
    reply_to: str | None = None
    thread_root: str | None = None
    links: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    platform_ref: Mapping[str, Any] = field(default_factory=dict)
    time_known: bool = True
    """False when the source gave no timestamp and `created_at` is only when modbot read the post:
    rules that count posts in a time window must not treat a file read in a second as a burst."""
    received_at: datetime | None = None
    """When modbot received the post (set by the store on acceptance), the clock the spam rules
    count by: `created_at` is whatever the author's client claimed (Bluesky's createdAt), and a
    back-dated post would otherwise fall outside every window. The console adapter, replaying a
    feed the operator supplies, sets it to the post's own time."""

    @property
    def counted_at(self) -> datetime:
        """The time spam windows place the post at."""
        return self.received_at or self.created_at

    @property
    def account_key(self) -> str:
        """Who posted, for rules that count per account: an anonymous post is its own account."""
        return f"post:{self.id}" if self.author.anonymous else self.author.id

    @property
    def account_age(self) -> timedelta | None:
        """Age of the author's account when they posted; None where the platform does not say."""
        if self.author.account_created_at is None:
            return None
        return self.created_at - self.author.account_created_at

    def to_json(self) -> dict[str, Any]:
        """The post as plain JSON values: the one encoding the ingest spool keeps and the API serves."""
        a = self.author
        return {
            "platform": self.platform,
            "community": self.community,
            "channel": self.channel,
            "id": self.id,
            "author": {
                "id": a.id,
                "handle": a.handle,
                "created": _iso(a.account_created_at),
                "joined": _iso(a.joined_at),
                "roles": list(a.roles),
                "anonymous": a.anonymous,
            },
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "reply_to": self.reply_to,
            "thread_root": self.thread_root,
            "links": list(self.links),
            "mentions": list(self.mentions),
            "platform_ref": dict(self.platform_ref),
            "time_known": self.time_known,
            "received_at": _iso(self.received_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Post:
        a = data["author"]
        return cls(
            platform=data["platform"],
            community=data["community"],
            channel=data["channel"],
            id=data["id"],
            author=Author(
                a["id"],
                a["handle"],
                _when(a["created"]),
                _when(a["joined"]),
                tuple(a["roles"]),
                a.get("anonymous", False),
            ),
            text=data["text"],
            created_at=datetime.fromisoformat(data["created_at"]),
            reply_to=data["reply_to"],
            thread_root=data["thread_root"],
            links=tuple(data["links"]),
            mentions=tuple(data["mentions"]),
            platform_ref=data["platform_ref"],
            time_known=data.get("time_known", True),
            received_at=_when(data.get("received_at")),
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class Quarantined:
    """Input an adapter could not turn into a post (a line that is not JSON, a record the platform's
    schema does not fit), kept with why so that one bad item is looked at, not lost or fatal."""

    platform: str
    source: str
    """where it came from: a file, "stdin", a firehose URL"""
    position: str
    """where in the source: a line number, a sequence number, a message id"""
    reason: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open range of code points in the post's raw text."""

    start: int
    end: int


def threshold_line(category: str, score: float, threshold: float, source: str, outcome: Outcome) -> str:
    """The opening of every reason that reached a threshold, the part a moderator scans."""
    return f"{category} {score:.2f} ≥ {threshold:.2f} ({source}) → {outcome.value}"


def below_line(category: str, score: float, threshold: float, source: str) -> str:
    """The opening of the reason a post was allowed: the score nearest to a threshold."""
    return f"{category} {score:.2f} is below the lowest threshold {threshold:.2f} ({source})"


class RefKind(StrEnum):
    FACT_CHECK = "fact-check"
    """the id of a stored fact-check (the claims table) a post matched"""


@dataclass(frozen=True, slots=True)
class Ref:
    """What a score points at, kept as data beside the message so that nothing has to read it back
    out of the sentence (the context reply and the case page cite the fact-check by it)."""

    kind: RefKind
    id: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind.value, "id": self.id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ref:
        return cls(RefKind(data["kind"]), str(data["id"]))


@dataclass(frozen=True, slots=True)
class Language:
    """What the language model said of a post."""

    code: str | None
    """ISO 639-1, or None for a text with no letters"""
    sure: bool


class Reading(StrEnum):
    """Whether the text scorers could read a post: English, or a language with a scorer of its own
    (the Decider's `reads`)."""

    READ = "read"
    """in a language they read, or no letters at all"""
    UNSURE = "unsure"
    """looks like another language, but the model is not sure: the English scorers read it (and
    that language's own scorer, if it has one), with a note"""
    UNREAD = "not read"
    """surely another language: the text scorers skip it and the policy for unscored languages decides"""


@dataclass(frozen=True, slots=True)
class Reason:
    """One piece of why a decision came out as it did, readable by a moderator."""

    source: str
    category: str
    score: float
    threshold: float
    outcome: Outcome
    message: str
    spans: tuple[Span, ...] = ()
    ref: Ref | None = None

    @property
    def fact_check(self) -> int | None:
        """The stored fact-check this reason matched, if any."""
        return int(self.ref.id) if self.ref is not None and self.ref.kind is RefKind.FACT_CHECK else None

    def erased(self) -> Reason:
        """The reason without the words it quoted (evidence, a scorer's note), for a post whose
        text is purged or forgotten: the decision keeps its scores and thresholds, not the text."""
        if self.category == "none":
            return self
        if self.outcome is Outcome.ALLOW:
            head = below_line(self.category, self.score, self.threshold, self.source)
        else:
            head = threshold_line(self.category, self.score, self.threshold, self.source, self.outcome)
        return replace(self, message=head + "; the words it quoted were erased with the post's text")

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "category": self.category,
            "score": round(self.score, 4),
            "threshold": self.threshold,
            "outcome": self.outcome.value,
            "message": self.message,
            "spans": [[s.start, s.end] for s in self.spans],
            **({"ref": self.ref.to_json()} if self.ref is not None else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reason:
        return cls(
            source=str(data["source"]),
            category=str(data["category"]),
            score=float(data["score"]),
            threshold=float(data["threshold"]),
            outcome=Outcome(data["outcome"]),
            message=str(data["message"]),
            spans=tuple(Span(int(a), int(b)) for a, b in data.get("spans", ())),
            ref=Ref.from_json(data["ref"]) if data.get("ref") else None,
        )


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    scores: Mapping[str, float]
    scores_by_scorer: Mapping[str, Mapping[str, float]]
    reasons: tuple[Reason, ...]
    scorer_versions: Mapping[str, str]
    policy_version: str
    shadow: bool
    normalised_text: str
    language: str | None = None
    """the language the post was identified as (ISO 639-1), None where no model looked or the
    text has no letters"""

    @property
    def acts(self) -> bool:
        """Whether the decision should be carried out on the platform now."""
        return self.outcome.is_action and not self.shadow
