"""The stored records the runtime passes around (a decision as stored, a case with its post,
decision, actions and audit, an outbox action) and their conversion to and from table rows: the
one place a `Post` becomes a row and a row a `Post`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bot.storage.schema import (
    ActionRow,
    AuditRow,
    CaseRow,
    CursorRow,
    DecisionRow,
    PostRow,
    utcnow,
)
from moderation.actions import ActionSpec
from moderation.cleaning import clean_text
from moderation.types import Author, Decision, Outcome, Post, Reason

T = TypeVar("T")


class CaseState(StrEnum):
    """Where a case is in review; stored as its value."""

    OPEN = "open"
    ESCALATED = "escalated"
    APPEALED = "appealed"
    """the author appealed the decision: waiting for a moderator to uphold or overturn it"""
    CLOSED = "closed"


WAITING: tuple[CaseState, ...] = (CaseState.OPEN, CaseState.ESCALATED, CaseState.APPEALED)
"""the cases still waiting for a verdict"""


class AppealState(StrEnum):
    """Where an appeal is; stored as its value."""

    OPEN = "open"
    UPHELD = "upheld"
    """the decision stands"""
    OVERTURNED = "overturned"
    """the decision was wrong: what can be reversed is"""


@dataclass(frozen=True, slots=True)
class AppealView:
    id: int
    case_id: int
    author_id: str
    text: str
    via: str
    state: AppealState
    opened_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    answer: str | None


class Resolution(StrEnum):
    """How a closed case ended; stored as its value."""

    APPROVED = "approved"
    """the post was fine (an override of the filter)"""
    REMOVED = "removed"


class PostStatus(StrEnum):
    """Where an accepted post is on its way to a decision; stored as its value."""

    PENDING = "pending"
    """accepted, not yet decided"""
    DECIDED = "decided"
    FAILED = "failed"
    """scoring raised; retried at start"""


class ActionState(StrEnum):
    """Where an outbox action is; stored as its value."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class DraftStatus(StrEnum):
    """Where a reply draft is, from the request to the platform; stored as its value."""

    QUEUED = "queued"
    GENERATING = "generating"
    PROPOSED = "proposed"
    """passed the gates, waiting for a moderator"""
    APPROVED = "approved"
    EDITED = "edited"
    REJECTED = "rejected"
    """turned away by a gate or a moderator"""
    ABSTAINED = "abstained"
    """no knowledge answers the question: nothing to send, the moderators decide whether to reply"""
    SENT = "sent"
    FAILED = "failed"


REVISION = "@edit-"
"""Between a post's platform id and an edit's time: an edit is stored as a post of its own,
`<id>@edit-<unix seconds>`, so each revision keeps its decision and the same edit stored twice is
one revision."""


def revision_id(post_id: str, edited_at: float) -> str:
    return f"{post_id}{REVISION}{edited_at:.3f}"


def original_id(post_id: str) -> str:
    """The id of the post a revision is an edit of (a post that is no revision is its own)."""
    return post_id.split(REVISION, 1)[0]


@dataclass(frozen=True, slots=True)
class CursorUpdate:
    adapter: str
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class StoredDecision:
    id: int
    post_row: int
    outcome: Outcome
    reasons: tuple[Reason, ...]
    scores: dict[str, float]
    scorer_versions: dict[str, str]
    policy_version: str
    shadow: bool
    normalised_text: str | None
    decided_at: datetime
    language: str | None = None


@dataclass(frozen=True, slots=True)
class CaseView:
    id: int
    state: CaseState
    resolution: str | None
    note: str | None
    assignee: str | None
    opened_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    post_row: int
    post: Post
    decision: StoredDecision
    category: str = ""
    """the category it was opened for: the decision's top reason's, or the one a moderator named"""
    reported_by: str | None = None
    """the moderator who reported the post as missed; None: modbot flagged it"""
    actions: tuple[ActionRecord, ...] = ()
    audit: tuple[AuditRecord, ...] = ()
    appeal: AppealView | None = None


@dataclass(frozen=True, slots=True)
class ActionRecord:
    id: int
    post_row: int
    case_id: int | None
    platform: str
    kind: str
    params: dict[str, Any]
    state: str
    attempts: int
    result: str | None
    platform_ref: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    actor: str
    action: str
    origin: str
    details: dict[str, Any]


def chunks(items: Sequence[T], size: int = 500) -> Iterable[list[T]]:
    """Slices of `items` for IN (...) lists that stay under the databases' parameter limits."""
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def write_cursor(session: Session, cursor: CursorUpdate) -> None:
    row = session.get(CursorRow, (cursor.adapter, cursor.key))
    if row is None:
        session.add(CursorRow(adapter=cursor.adapter, key=cursor.key, value=cursor.value))
    else:
        row.value, row.updated_at = cursor.value, utcnow()


def post_row(post: Post) -> PostRow:
    """`post` has passed `storable` (accept does it first)."""
    text = post.text
    return PostRow(
        platform=post.platform,
        community=post.community,
        channel=post.channel,
        platform_post_id=post.id,
        author_id=post.author.id,
        author_handle=post.author.handle,
        author_created_at=post.author.account_created_at,
        author_joined_at=post.author.joined_at,
        author_roles=list(post.author.roles),
        author_anonymous=post.author.anonymous,
        text=text,
        text_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        created_at=post.created_at,
        time_known=post.time_known,
        reply_to=post.reply_to,
        thread_root=post.thread_root,
        links=list(post.links),
        mentions=list(post.mentions),
        platform_ref=dict(post.platform_ref),
        received_at=post.received_at or utcnow(),
        status=PostStatus.PENDING,
    )


def post_from_row(row: PostRow) -> Post:
    return Post(
        platform=row.platform,
        community=row.community,
        channel=row.channel,
        id=row.platform_post_id,
        author=Author(
            id=row.author_id,
            handle=row.author_handle,
            account_created_at=row.author_created_at,
            joined_at=row.author_joined_at,
            roles=tuple(row.author_roles or ()),
            anonymous=bool(row.author_anonymous),
        ),
        text=row.text or "",
        created_at=row.created_at,
        reply_to=row.reply_to,
        thread_root=row.thread_root,
        links=tuple(row.links or ()),
        mentions=tuple(row.mentions or ()),
        platform_ref=dict(row.platform_ref or {}),
        time_known=bool(row.time_known),
        received_at=row.received_at,
    )


def decision_row(post_row: int, decision: Decision, decided_by: str) -> DecisionRow:
    return DecisionRow(
        post_id=post_row,
        outcome=decision.outcome.value,
        scores=dict(decision.scores),
        scores_by_scorer={k: dict(v) for k, v in decision.scores_by_scorer.items()},
        reasons=[r.to_json() for r in decision.reasons],
        scorer_versions=dict(decision.scorer_versions),
        policy_version=decision.policy_version,
        shadow=decision.shadow,
        normalised_text=clean_text(decision.normalised_text),
        language=decision.language,
        decided_by=decided_by,
    )


def case_row(decision_row: DecisionRow, post: Post, decision: Decision) -> CaseRow:
    top = decision.reasons[0] if decision.reasons else None
    return CaseRow(
        post_id=decision_row.post_id,
        decision_id=decision_row.id,
        state=CaseState.OPEN,
        platform=post.platform,
        community=post.community,
        category=top.category if top else "",
        score=top.score if top else 0.0,
    )


def stored_decision(d: DecisionRow) -> StoredDecision:
    return StoredDecision(
        id=d.id,
        post_row=d.post_id,
        outcome=Outcome(d.outcome),
        reasons=tuple(Reason.from_json(r) for r in d.reasons),
        scores=dict(d.scores),
        scorer_versions=dict(d.scorer_versions),
        policy_version=d.policy_version,
        shadow=d.shadow,
        normalised_text=d.normalised_text,
        decided_at=d.decided_at,
        language=d.language,
    )


def case_view(
    c: CaseRow,
    p: PostRow,
    d: DecisionRow,
    actions: tuple[ActionRecord, ...] = (),
    audit: tuple[AuditRecord, ...] = (),
    appeal: AppealView | None = None,
) -> CaseView:
    return CaseView(
        id=c.id,
        state=CaseState(c.state),
        resolution=c.resolution,
        note=c.note,
        assignee=c.assignee,
        opened_at=c.opened_at,
        closed_at=c.closed_at,
        closed_by=c.closed_by,
        post_row=p.id,
        post=post_from_row(p),
        decision=stored_decision(d),
        category=c.category,
        reported_by=c.reported_by,
        actions=actions,
        audit=audit,
        appeal=appeal,
    )


def audit_row(
    actor: str, action: str, target_type: str, target_id: int | str, origin: str, details: dict[str, Any]
) -> AuditRow:
    return AuditRow(
        actor=actor, action=action, target_type=target_type, target_id=str(target_id), origin=origin, details=details
    )


def action_row(
    post_row: int, platform: str, spec: ActionSpec, key: str, decision_id: int | None = None, case_id: int | None = None
) -> ActionRow:
    return ActionRow(
        post_id=post_row,
        decision_id=decision_id,
        case_id=case_id,
        platform=platform,
        kind=spec.kind,
        params=spec.params,
        idempotency_key=key,
        state=ActionState.PENDING,
    )


def action_record(a: ActionRow, p: PostRow) -> ActionRecord:
    return ActionRecord(
        id=a.id,
        post_row=a.post_id,
        case_id=a.case_id,
        platform=a.platform,
        kind=a.kind,
        params=dict(a.params),
        state=a.state,
        attempts=a.attempts,
        result=a.result,
        platform_ref={
            **(p.platform_ref or {}),
            "post_id": p.platform_post_id,
            "channel": p.channel,
            "community": p.community,
            "author_id": p.author_id,
        },
    )
