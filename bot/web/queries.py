"""The dashboard's reads and its few writes that no other surface needs (assign, note). Verdicts go
through bot.review and drafts through DraftStore, like every other surface."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from bot.storage.records import REVISION, WAITING, ActionState, CaseState, Resolution, audit_row, original_id
from bot.storage.schema import ActionRow, CaseRow, DecisionRow, PostRow, utcnow
from bot.storage.store import Store
from moderation.types import Outcome

Sort = Literal["oldest", "newest", "score"]
PLATFORMS = ("discord", "bluesky", "console")
STATES = tuple(CaseState)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    states: tuple[str, ...] = WAITING
    platform: str = ""
    community: str = ""
    category: str = ""
    language: str = ""
    """ISO 639-1 of the post as identified; "-": none identified (no letters, or decided before)"""
    min_score: float | None = None
    max_score: float | None = None
    assignee: str = ""
    max_age_hours: float | None = None
    sort: Sort = "oldest"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    state: str
    assignee: str | None
    platform: str
    community: str
    category: str
    score: float
    opened_at: datetime
    author: str
    excerpt: str
    failed_actions: int = 0
    """Platform actions for this case that failed for good: a moderator must act by hand."""
    language: str | None = None


@dataclass
class Queue:
    rows: list[QueueRow]
    matching: int
    counts: dict[str, int] = field(default_factory=dict)
    failed_actions: int = 0


def queue(store: Store, f: QueueFilter) -> Queue:
    """One page of cases, how many match, and counts per state. Filters use the case's own indexed
    columns, so this stays fast with 100,000 cases."""

    def work(session: Session) -> Queue:
        conditions: list[Any] = [CaseRow.state.in_(list(f.states))]
        if f.platform:
            conditions.append(CaseRow.platform == f.platform)
        if f.community:
            conditions.append(CaseRow.community == f.community)
        if f.category:
            conditions.append(CaseRow.category == f.category)
        if f.language:
            which = DecisionRow.language.is_(None) if f.language == "-" else DecisionRow.language == f.language
            conditions.append(exists().where(DecisionRow.id == CaseRow.decision_id, which))
        if f.min_score is not None:
            conditions.append(CaseRow.score >= f.min_score)
        if f.max_score is not None:
            conditions.append(CaseRow.score <= f.max_score)
        if f.assignee == "-":
            conditions.append(CaseRow.assignee.is_(None))
        elif f.assignee:
            conditions.append(CaseRow.assignee == f.assignee)
        if f.max_age_hours is not None:
            conditions.append(CaseRow.opened_at >= utcnow() - timedelta(hours=f.max_age_hours))
        ids = _page_ids(session, f, conditions[1:])
        position = {case_id: i for i, case_id in enumerate(ids)}
        page = sorted(
            session.execute(
                select(
                    CaseRow,
                    PostRow.author_handle,
                    PostRow.author_id,
                    func.substr(PostRow.text, 1, 200),
                    DecisionRow.language,
                )
                .join(PostRow, CaseRow.post_id == PostRow.id)
                .join(DecisionRow, CaseRow.decision_id == DecisionRow.id)
                .where(CaseRow.id.in_(ids))
            ).all(),
            key=lambda row: position[row[0].id],
        )
        failed = dict(
            session.execute(
                select(ActionRow.case_id, func.count())
                .where(ActionRow.case_id.in_(ids), ActionRow.state == ActionState.FAILED)
                .group_by(ActionRow.case_id)
            ).all()
        )
        rows = [
            QueueRow(
                *(c.id, c.state, c.assignee, c.platform, c.community, c.category, c.score, c.opened_at),
                *(handle or author_id, text or "", failed.get(c.id, 0), language),
            )
            for c, handle, author_id, text, language in page
        ]
        matching = session.scalar(select(func.count()).select_from(CaseRow).where(*conditions)) or 0
        counts = dict(session.execute(select(CaseRow.state, func.count()).group_by(CaseRow.state)).all())
        failed_total = session.scalar(
            select(func.count()).select_from(ActionRow).where(ActionRow.state == ActionState.FAILED)
        )
        return Queue(rows, matching, {s: counts.get(s, 0) for s in STATES}, failed_total or 0)

    result: Queue = store.transaction(work)
    return result


def next_open(store: Store, after: int) -> int | None:
    """The next case waiting for review after this one (for the `n` key), else the first one."""

    def work(session: Session) -> int | None:
        waiting = CaseRow.state.in_(WAITING)
        following = session.scalar(select(func.min(CaseRow.id)).where(waiting, CaseRow.id > after))
        return following or session.scalar(select(func.min(CaseRow.id)).where(waiting, CaseRow.id != after))

    result: int | None = store.transaction(work)
    return result


def _page_ids(session: Session, f: QueueFilter, conditions: list[Any]) -> list[int]:
    """The ids of one page. One query per state, each walking its (state, sort key) index in order
    and stopping early, merged here: a single query with `state IN (...)` made SQLite sort every
    open case (0.3 s for 100,000)."""
    key, descending = {
        "oldest": (CaseRow.opened_at, False),
        "newest": (CaseRow.opened_at, True),
        "score": (CaseRow.score, True),
    }[f.sort]
    wanted = f.offset + f.limit
    found: list[tuple[Any, int]] = []
    for state in f.states:
        order = (key.desc(), CaseRow.id.desc()) if descending else (key, CaseRow.id)
        query = select(key, CaseRow.id).where(CaseRow.state == state, *conditions).order_by(*order).limit(wanted)
        found += [(value, case_id) for value, case_id in session.execute(query)]
    found.sort(key=lambda kv: (kv[0], kv[1]), reverse=descending)
    return [case_id for _, case_id in found[f.offset : wanted]]


def assign(store: Store, case_id: int, assignee: str | None, actor: str, origin: str) -> None:
    def work(session: Session) -> None:
        case = session.get(CaseRow, case_id, with_for_update=True)
        if case is None:
            raise LookupError(f"no case {case_id}")
        if case.state == CaseState.CLOSED:
            raise ValueError(f"case {case_id} is closed")
        case.assignee = assignee
        session.add(audit_row(actor, "case.assign", "case", case_id, origin, {"assignee": assignee}))

    store.transaction(work)


def set_note(store: Store, case_id: int, note: str, actor: str, origin: str) -> None:
    def work(session: Session) -> None:
        case = session.get(CaseRow, case_id, with_for_update=True)
        if case is None:
            raise LookupError(f"no case {case_id}")
        case.note = note
        session.add(audit_row(actor, "case.note", "case", case_id, origin, {"note": note}))

    store.transaction(work)


@dataclass(frozen=True, slots=True)
class ContextPost:
    row: int
    author: str
    text: str
    created_at: datetime
    outcome: str | None


def thread(store: Store, post_row: int) -> list[ContextPost]:
    """The posts around this one that modbot saw: its parent, the thread's root and the thread's
    other posts, oldest first (at most 20)."""

    def work(session: Session) -> list[ContextPost]:
        post = session.get(PostRow, post_row)
        if post is None:
            return []
        ids = [i for i in (post.reply_to, post.thread_root) if i]
        related: list[Any] = [PostRow.platform_post_id.in_(ids)] if ids else []
        if post.thread_root:
            related.append(PostRow.thread_root == post.thread_root)
        if not related:
            return []
        rows = session.execute(
            select(PostRow, DecisionRow.outcome)
            .outerjoin(DecisionRow, DecisionRow.post_id == PostRow.id)
            .where(PostRow.platform == post.platform, PostRow.community == post.community, or_(*related))
            .order_by(PostRow.created_at)
            .limit(20)
        ).all()
        return [ContextPost(p.id, p.author_handle or p.author_id, p.text or "", p.created_at, o) for p, o in rows]

    result: list[ContextPost] = store.transaction(work)
    return result


def revisions(store: Store, post_row: int) -> list[ContextPost]:
    """The other versions of this post (the original and its edits) with their decisions, oldest
    first: a case on an edit shows what the message said, and how it was judged, before."""

    def work(session: Session) -> list[ContextPost]:
        post = session.get(PostRow, post_row)
        if post is None:
            return []
        base = original_id(post.platform_post_id)
        edits = PostRow.platform_post_id.startswith(base + REVISION, autoescape=True)
        rows = session.execute(
            select(PostRow, DecisionRow.outcome)
            .outerjoin(DecisionRow, DecisionRow.post_id == PostRow.id)
            .where(
                PostRow.platform == post.platform,
                PostRow.community == post.community,
                or_(PostRow.platform_post_id == base, edits),
                PostRow.id != post.id,
            )
            .order_by(PostRow.created_at)
            .limit(20)
        ).all()
        return [ContextPost(p.id, p.author_handle or p.author_id, p.text or "", p.created_at, o) for p, o in rows]

    result: list[ContextPost] = store.transaction(work)
    return result


def author_recent(store: Store, post_row: int, limit: int = 10) -> list[ContextPost]:
    def work(session: Session) -> list[ContextPost]:
        post = session.get(PostRow, post_row)
        if post is None:
            return []
        rows = session.execute(
            select(PostRow, DecisionRow.outcome)
            .join(DecisionRow, DecisionRow.post_id == PostRow.id)
            .where(
                PostRow.platform == post.platform,
                PostRow.community == post.community,
                PostRow.author_id == post.author_id,
                PostRow.id != post.id,
            )
            .order_by(DecisionRow.decided_at.desc())
            .limit(limit)
        ).all()
        return [ContextPost(p.id, p.author_handle or p.author_id, p.text or "", p.created_at, o) for p, o in rows]

    result: list[ContextPost] = store.transaction(work)
    return result


@dataclass(frozen=True, slots=True)
class LogRow:
    decision_id: int
    post_row: int
    decided_at: datetime
    platform: str
    community: str
    author: str
    outcome: str
    top_reason: str
    text: str
    case_id: int | None


def decision_log(store: Store, q: str = "", outcome: str = "", limit: int = 50, offset: int = 0) -> list[LogRow]:
    """Newest decisions first; `q` matches the post text, the author or a reason (case-insensitive)."""

    def work(session: Session) -> list[LogRow]:
        query = (
            select(DecisionRow, PostRow, CaseRow.id)
            .join(PostRow, DecisionRow.post_id == PostRow.id)
            .outerjoin(CaseRow, CaseRow.decision_id == DecisionRow.id)
        )
        if outcome:
            query = query.where(DecisionRow.outcome == outcome)
        if q:
            like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                or_(
                    PostRow.text.ilike(like, escape="\\"),
                    PostRow.author_handle.ilike(like, escape="\\"),
                    PostRow.author_id.ilike(like, escape="\\"),
                )
            )
        rows = session.execute(query.order_by(DecisionRow.id.desc()).limit(limit).offset(offset)).all()
        return [
            LogRow(
                d.id,
                p.id,
                d.decided_at,
                p.platform,
                p.community,
                p.author_handle or p.author_id,
                d.outcome,
                d.reasons[0]["message"] if d.reasons else "",
                p.text or "",
                case_id,
            )
            for d, p, case_id in rows
        ]

    result: list[LogRow] = store.transaction(work)
    return result


def stats(store: Store, days: int = 30) -> dict[str, Any]:
    """Volume by outcome per day, flag and override rates per category, time to resolution."""
    since = utcnow() - timedelta(days=days)
    needs_review = [o.value for o in Outcome if o.needs_review]

    def work(session: Session) -> dict[str, Any]:
        per_day: dict[str, dict[str, int]] = {}
        day = func.date(DecisionRow.decided_at)
        for d, o, n in session.execute(
            select(day, DecisionRow.outcome, func.count())
            .where(DecisionRow.decided_at >= since)
            .group_by(day, DecisionRow.outcome)
        ):
            per_day.setdefault(str(d), {})[o] = n
        total = session.scalar(select(func.count()).select_from(DecisionRow).where(DecisionRow.decided_at >= since))
        categories: dict[str, dict[str, Any]] = {}
        for category, state, resolution, opened, closed in session.execute(
            select(CaseRow.category, CaseRow.state, CaseRow.resolution, CaseRow.opened_at, CaseRow.closed_at).where(
                CaseRow.opened_at >= since
            )
        ):
            c = categories.setdefault(category or "(none)", {"cases": 0, "reviewed": 0, "overturned": 0, "hours": []})
            c["cases"] += 1
            if state == CaseState.CLOSED and closed is not None:
                c["reviewed"] += 1
                c["overturned"] += resolution == Resolution.APPROVED
                c["hours"].append((closed - opened).total_seconds() / 3600)
        rows = []
        for name, c in sorted(categories.items()):
            rows.append(
                {
                    "category": name,
                    "cases": c["cases"],
                    "flag_rate": c["cases"] / total if total else 0.0,
                    "reviewed": c["reviewed"],
                    "override_rate": c["overturned"] / c["reviewed"] if c["reviewed"] else 0.0,
                    "median_hours_to_resolution": statistics.median(c["hours"]) if c["hours"] else None,
                }
            )
        by_language = select(DecisionRow.language, func.count()).where(DecisionRow.decided_at >= since)
        volume = session.execute(by_language.group_by(DecisionRow.language)).all()
        flagged = dict(
            session.execute(
                by_language.where(DecisionRow.outcome.in_(needs_review)).group_by(DecisionRow.language)
            ).all()
        )
        per_language = [
            {"language": lang or "(none)", "decisions": n, "flag_rate": flagged.get(lang, 0) / n}
            for lang, n in sorted(volume, key=lambda row: -row[1])
        ]
        return {
            "since": since.isoformat(),
            "decisions": total or 0,
            "per_language": per_language,
            "flagged": sum(n for d in per_day.values() for o, n in d.items() if o in needs_review),
            "per_day": dict(sorted(per_day.items())),
            "per_category": rows,
        }

    result: dict[str, Any] = store.transaction(work)
    return result
