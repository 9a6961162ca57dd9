"""SQL schema shared by SQLite (embedded default) and PostgreSQL. Alembic migrations create it;
these classes are how the code reads and writes it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out on both backends (SQLite stores naive text otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class PostRow(Base):
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("platform", "community", "platform_post_id", name="uq_posts_platform_id"),
        Index("ix_posts_status", "status"),
        Index("ix_posts_author", "platform", "author_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    community: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(200))
    platform_post_id: Mapped[str] = mapped_column(String(512))
    author_id: Mapped[str] = mapped_column(String(200))
    author_handle: Mapped[str | None] = mapped_column(String(300))
    author_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    author_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    author_roles: Mapped[list[str]] = mapped_column(Json, default=list)
    author_anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    """the source named no author (Author.anonymous)"""
    text: Mapped[str | None] = mapped_column(Text)
    """Raw text as written (NUL replaced); None once the retention window has purged it."""
    text_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    time_known: Mapped[bool] = mapped_column(Boolean, default=True)
    """False: the source gave no time and created_at is when modbot read it (Post.time_known)"""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reply_to: Mapped[str | None] = mapped_column(String(512))
    thread_root: Mapped[str | None] = mapped_column(String(512))
    links: Mapped[list[str]] = mapped_column(Json, default=list)
    mentions: Mapped[list[str]] = mapped_column(Json, default=list)
    platform_ref: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """a PostStatus (bot/storage/records.py)"""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class DecisionRow(Base):
    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_post", "post_id"), Index("ix_decisions_outcome", "outcome"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(16))
    scores: Mapped[dict[str, float]] = mapped_column(Json)
    scores_by_scorer: Mapped[dict[str, dict[str, float]]] = mapped_column(Json)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    scorer_versions: Mapped[dict[str, str]] = mapped_column(Json)
    policy_version: Mapped[str] = mapped_column(String(64))
    shadow: Mapped[bool] = mapped_column(Boolean, default=False)
    normalised_text: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    """ISO 639-1 as identified (None: no letters, or decided before modbot identified languages)"""
    decided_by: Mapped[str] = mapped_column(String(64), default="modbot")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_state", "state"),
        Index("ix_cases_state_opened", "state", "opened_at"),
        Index("ix_cases_state_score", "state", "score"),
        Index("ix_cases_filter", "platform", "community", "category"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="open")
    """open | escalated | closed"""
    assignee: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(String(16))
    """approved (post is fine) | removed (post breaks the rules)"""
    note: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(200))
    reported_by: Mapped[str | None] = mapped_column(String(200))
    """the moderator who opened it for a post modbot allowed (a missed case); None: modbot flagged it"""
    # Copies of the post's and the decision's top reason, so a queue of 100,000 cases filters on
    # indexed columns instead of JSON.
    platform: Mapped[str] = mapped_column(String(32), default="")
    community: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(32), default="")
    score: Mapped[float] = mapped_column(Float, default=0.0)


class ActionRow(Base):
    """The outbox: an action is written here before it runs, and its outcome after."""

    __tablename__ = "actions"
    __table_args__ = (Index("ix_actions_state_due", "state", "not_before"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """an ActionState (bot/storage/records.py)"""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AppealRow(Base):
    """A user's appeal against a decision on their post: one per case, with the moderator's answer."""

    __tablename__ = "appeals"
    __table_args__ = (Index("ix_appeals_state", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    author_id: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    via: Mapped[str] = mapped_column(String(200))
    """where it came from: a reply to the warning, the Appeal button, the CLI"""
    state: Mapped[str] = mapped_column(String(16), default="open")
    """an AppealState (bot/storage/records.py)"""
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(200))
    answer: Mapped[str | None] = mapped_column(Text)
    """the moderator's note to the user"""


class ApiKeyRow(Base):
    """A key of the Perspective-compatible API: only its SHA-256 is kept, the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    qps: Mapped[float | None] = mapped_column(Float)
    """requests per second; None: `[api] default_qps`"""
    community: Mapped[str | None] = mapped_column(String(200))
    """the community its comments and suggestions belong to when a request names none"""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SuggestionRow(Base):
    """A score a client of the API says a comment should have had (comments:suggestscore): a
    moderator's verdict arriving from another system, kept for the community's calibration."""

    __tablename__ = "score_suggestions"
    __table_args__ = (Index("ix_score_suggestions_community", "community"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_name: Mapped[str] = mapped_column(String(100))
    community: Mapped[str] = mapped_column(String(200))
    attribute: Mapped[str] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(32))
    """modbot's category for the attribute, where it has one"""
    value: Mapped[float] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(Text)
    """the comment; erased by the retention purge"""
    client_token: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditRow(Base):
    """Append-only (database triggers refuse UPDATE and DELETE): who did what, when, from where."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class CursorRow(Base):
    """Where each adapter resumes; written in the same transaction as the posts it covers."""

    __tablename__ = "cursors"

    adapter: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CommunitySettingsRow(Base):
    """Settings changed at run time by moderators (config holds the rest)."""

    __tablename__ = "community_settings"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(200), primary_key=True)
    shadow: Mapped[bool | None] = mapped_column(Boolean)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ThresholdChangeRow(Base):
    """A flag threshold an admin accepted from the calibration of a community's verdicts. The
    newest unreverted row of a community and category raises the config's threshold (never
    lowers it); a revert is stamped on the row, which stays for the record."""

    __tablename__ = "threshold_changes"
    __table_args__ = (Index("ix_threshold_changes_where", "platform", "community", "category"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    community: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(Json)
    """the proposal it was accepted on: counts, precision, its bound and target"""
    accepted_by: Mapped[str] = mapped_column(String(200))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reverted_by: Mapped[str | None] = mapped_column(String(200))
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ClaimRow(Base):
    """A fact-check: the claim, its rating and where it was checked, with the claim's embedding."""

    __tablename__ = "claims"
    __table_args__ = (UniqueConstraint("url", "claim_sha256", name="uq_claims_url_claim"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    """the fact-check article's headline, where the source gives one: matched along with the claim"""
    claim_sha256: Mapped[str] = mapped_column(String(64))
    rating: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(2000), default="")
    publisher: Mapped[str] = mapped_column(String(300), default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(300), default="")
    embedding_model: Mapped[str] = mapped_column(String(200), default="")
    embedding: Mapped[list[float] | None] = mapped_column(Json)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DraftRow(Base):
    """A reply the model drafted (or is about to): nothing reaches a platform until it passed the
    gates and, unless the community opted into auto-send, a moderator approved it."""

    __tablename__ = "drafts"
    __table_args__ = (Index("ix_drafts_status", "status"), Index("ix_drafts_post", "post_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id", ondelete="SET NULL"))
    trigger: Mapped[str] = mapped_column(String(32))
    """question | request | misinformation | rule_reminder"""
    params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    """a DraftStatus (bot/storage/records.py)"""
    text: Mapped[str | None] = mapped_column(Text)
    """What would be sent: the model's draft, or the moderator's edit of it."""
    model_text: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[list[str]] = mapped_column(Json, default=list)
    """Why the draft was rejected by the gates (or by whom), or what failed."""
    citations: Mapped[list[str]] = mapped_column(Json, default=list)
    scores: Mapped[dict[str, float]] = mapped_column(Json, default=dict)
    model_version: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(200), default="modbot")
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModeratorRow(Base):
    """A dashboard account. Passwords are argon2id hashes. Failed logins slow the address they come
    from down (bot/web/throttle.py), never the account: `failed_logins` only counts them for the audit."""

    __tablename__ = "moderators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    """viewer | moderator | admin"""
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebSessionRow(Base):
    """A dashboard login. Only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_moderator", "moderator_id"),)

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("moderators.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    address: Mapped[str] = mapped_column(String(100), default="")


class QuarantineRow(Base):
    """Input that could not become a post (moderation/types.py Quarantined): why, and its raw bytes
    up to QUARANTINE_BYTES, for an operator to look at; the source moved on past it."""

    __tablename__ = "quarantine"
    __table_args__ = (
        UniqueConstraint("platform", "source", "position", "raw_sha256", name="uq_quarantine_item"),
        Index("ix_quarantine_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    platform: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(512))
    position: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    raw_size: Mapped[int] = mapped_column(Integer)
    """the input's size before it was cut to QUARANTINE_BYTES"""
    raw_sha256: Mapped[str] = mapped_column(String(64))


QUARANTINE_BYTES = 16_384
