"""What the runtime needs from a platform adapter. Platform objects never cross this edge: adapters
hand over `Post`s and carry out outbox actions described in plain data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.storage.records import ActionRecord, AppealView, CaseView, CursorUpdate
from moderation.actions import Verdict
from moderation.types import Decision, Post, Quarantined


def raw_bytes(value: Any) -> bytes:
    """Parsed input (a record, a gateway payload) as bytes for the quarantine, when the bytes it
    came as are gone. Never raises: a 5,000-digit integer or a cycle has no JSON and no repr, and
    the quarantine of a bad item must not fail on what made it bad."""
    try:
        text = json.dumps(value, default=repr, ensure_ascii=True)
    except (ValueError, TypeError, RecursionError) as exc:
        text = f"(not printable: {type(exc).__name__}: {exc})"
    return text.encode("ascii", "backslashreplace")


class PostSink(Protocol):
    """Where adapters hand posts over (the pipeline). Returns how many were new."""

    async def submit(self, posts: Sequence[Post], cursor: CursorUpdate | None = None) -> int: ...

    async def quarantine(self, items: Sequence[Quarantined]) -> None:
        """Keep input that could not become a post, with why; never raises."""
        ...

    async def cursor(self, adapter: str, key: str, stopping: asyncio.Event) -> str | None:
        """Where this source stopped (stored with the posts it covers); waits out a database
        outage, and raises its last error once `stopping` is set."""
        ...

    async def save_cursor(self, cursor: CursorUpdate) -> None:
        """Store a position that no post carries (a firehose frame of other repos); may raise
        DatabaseError: the next save catches up."""
        ...


class DecisionSink(PostSink, Protocol):
    """A sink for a platform that also decides on its own (Discord's AutoMod) and lets moderators
    ask for a decision without storing one."""

    async def record_external(self, post: Post, decision: Decision, decided_by: str) -> int | None: ...

    async def check(self, posts: Sequence[Post]) -> list[Decision]: ...


AppealVerb = Literal["uphold", "overturn"]
CaseVerb = Verdict | AppealVerb | Literal["escalate"]


@dataclass(frozen=True, slots=True)
class DeskStatus:
    scorers: dict[str, str]
    """scorer name -> model version"""
    shadow: bool
    policy_version: str
    counts: dict[str, int]
    """outcome -> decisions since the time asked about"""


class ReviewDesk(Protocol):
    """The review queue as an adapter with its own review surface (slash commands, buttons) sees
    it: every verdict goes through the same code as the CLI's and the dashboard's (bot/review.py).
    Lookups raise nothing; `act` raises LookupError or ValueError with a message for the moderator."""

    async def case(self, case_id: int) -> CaseView | None: ...

    async def open_cases(self, platform: str, community: str, limit: int) -> list[CaseView]: ...

    async def author_record(self, platform: str, community: str, author_id: str) -> dict[str, int]: ...

    async def refused(self, actor: str, case_id: int, verb: str, origin: str) -> None:
        """Audit a refused attempt to act on a case."""
        ...

    async def act(self, case_id: int, verb: CaseVerb, actor: str, origin: str) -> CaseView: ...

    async def appeal(self, case_id: int, author_id: str, text: str, via: str) -> AppealView:
        """Open the author's appeal on the case; LookupError or ValueError say why not."""
        ...

    async def set_shadow(self, platform: str, community: str, on: bool, actor: str, origin: str) -> None: ...

    async def report_missed(
        self, platform: str, community: str, post_id: str, category: str, actor: str, origin: str
    ) -> CaseView:
        """A moderator says a post modbot allowed should have been flagged: a case opens for it.
        LookupError when modbot has no decision on the post, ValueError when it has a case."""
        ...

    async def status(self, platform: str, community: str, since: datetime) -> DeskStatus: ...


class LabelSink(Protocol):
    """Where `label` actions go when the bot account is a labeler of its own: signed, stored and
    served by modbot (instead of asked of an Ozone instance)."""

    async def label(self, src: str, uri: str, cid: str | None, category: str, rule: str, case_id: int | None) -> str:
        """Issue the label `category` emits on the post, once; returns what was done."""
        ...

    async def unlabel(self, src: str, uri: str, reason: str) -> str:
        """Negate every label of `src` in force on the post."""
        ...


class ActionFailed(Exception):
    """The platform refused or could not take an action. `retryable` says whether trying later may work."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Adapter(Protocol):
    platform: str
    reconnects: int
    """Times the platform connection dropped and was made again since start (for /metrics)."""

    lag: float | None
    """Seconds between the platform's time of the newest item read and reading it; None where the
    platform gives no time (for /metrics and /readyz)."""

    @property
    def frames(self) -> int:
        """What the adapter has read from its platform since start, watched or not: firehose
        frames, gateway messages and edits, lines (for /metrics: its rate is how fast the
        platform is read)."""
        ...

    def connected(self) -> bool:
        """Whether the adapter is reading from its platform now (for /readyz)."""
        ...

    async def run(self) -> None:
        """Read posts and submit them until the source ends or `stop()` is called."""
        ...

    def stop(self) -> None: ...

    def can_act(self) -> bool:
        """Whether actions can run now; until then the executor leaves this platform's actions
        pending instead of spending their attempts (Discord before its guilds have arrived)."""
        ...

    async def execute(self, action: ActionRecord) -> str:
        """Carry out one action; return what was done. Must be idempotent: after a crash an action
        may run again. Raise ActionFailed when it cannot be done."""
        ...
