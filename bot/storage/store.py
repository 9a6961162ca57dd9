"""Every read and write the runtime makes, each a short transaction.

The ordering guarantees live here: a post is stored (with its adapter's cursor) before it is
scored, and its decision, case and outbox actions land in one transaction that also moves the post
from pending to decided, so a crash at any point neither loses a post nor decides one twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.db import DatabaseError, display_url
from bot.storage.schema import (
    ActionRow,
    AuditRow,
    CaseRow,
    ClaimRow,
    CommunitySettingsRow,
    CursorRow,
    DecisionRow,
    DraftRow,
    PostRow,
    utcnow,
)
from moderation.actions import DRAFT, ActionSpec
from moderation.cleaning import clean_text, storable
from moderation.types import Author, Decision, Outcome, Post, Reason

T = TypeVar("T")


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


@dataclass(frozen=True, slots=True)
class CaseView:
    id: int
    state: str
    resolution: str | None
    note: str | None
    assignee: str | None
    opened_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    post_row: int
    post: Post
    decision: StoredDecision
    actions: tuple[ActionRecord, ...] = ()
    audit: tuple[AuditRecord, ...] = ()


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


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)

    def transaction(self, fn: Any) -> Any:
        """Run fn(session) in one transaction, turning connection failures into DatabaseError."""
        try:
            with self._session.begin() as session:
                return fn(session)
        except OperationalError as exc:
            raise DatabaseError(f"database {display_url(str(self.engine.url))} failed: {exc.orig}") from exc

    # --- ingest --------------------------------------------------------------------------------

    def accept(self, posts: Sequence[Post], cursor: CursorUpdate | None = None) -> list[tuple[int, Post]]:
        """Store new posts as pending, and the cursor that covers them, in one transaction.
        Returns the (row id, post) pairs that were new; a post seen before is skipped. Each post
        is made storable first (moderation/cleaning.py), so what is decided is what is stored."""
        now = utcnow()
        posts = [storable(post, now) for post in posts]

        def work(session: Session) -> list[tuple[int, Post]]:
            fresh: dict[tuple[str, str, str], Post] = {}
            for post in posts:
                fresh.setdefault((post.platform, post.community, post.id), post)
            for key in self._existing(session, list(fresh)):
                del fresh[key]
            rows = [_post_row(post) for post in fresh.values()]
            session.add_all(rows)
            session.flush()
            if cursor is not None:
                _set_cursor(session, cursor)
            return [(row.id, post) for row, post in zip(rows, fresh.values(), strict=True)]

        try:
            result: list[tuple[int, Post]] = self.transaction(work)
            return result
        except IntegrityError:
            # Another writer stored one of these between our check and insert: retry, it is skipped now.
            retried: list[tuple[int, Post]] = self.transaction(work)
            return retried

    @staticmethod
    def _existing(session: Session, keys: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        found: set[tuple[str, str, str]] = set()
        by_scope: dict[tuple[str, str], list[str]] = {}
        for platform, community, post_id in keys:
            by_scope.setdefault((platform, community), []).append(post_id)
        for (platform, community), ids in by_scope.items():
            for chunk in chunks(ids):
                rows = session.scalars(
                    select(PostRow.platform_post_id).where(
                        PostRow.platform == platform,
                        PostRow.community == community,
                        PostRow.platform_post_id.in_(chunk),
                    )
                )
                found.update((platform, community, pid) for pid in rows)
        return found

    def pending(self, limit: int = 1000, statuses: Sequence[str] = ("pending", "failed")) -> list[tuple[int, Post]]:
        """Posts accepted but not decided (a crash, or a failed scoring run): decided at start, and
        failed ones retried while running."""

        def work(session: Session) -> list[tuple[int, Post]]:
            rows = session.scalars(
                select(PostRow).where(PostRow.status.in_(list(statuses))).order_by(PostRow.id).limit(limit)
            )
            return [(r.id, post_from_row(r)) for r in rows]

        result: list[tuple[int, Post]] = self.transaction(work)
        return result

    def posts_to_decide(self, rows: Sequence[int]) -> list[tuple[int, Post]]:
        """These posts, if still undecided (a worker's batch; decided ones are skipped)."""

        def work(session: Session) -> list[tuple[int, Post]]:
            found = session.scalars(select(PostRow).where(PostRow.id.in_(list(rows)), PostRow.status != "decided"))
            return [(r.id, post_from_row(r)) for r in found]

        result: list[tuple[int, Post]] = self.transaction(work)
        return result

    def mark_failed(self, post_rows: Iterable[int], error: str) -> None:
        def work(session: Session) -> None:
            session.execute(
                update(PostRow)
                .where(PostRow.id.in_(list(post_rows)), PostRow.status != "decided")
                .values(status="failed", attempts=PostRow.attempts + 1, last_error=error[:2000])
            )

        self.transaction(work)

    def get_cursor(self, adapter: str, key: str) -> str | None:
        def work(session: Session) -> str | None:
            row = session.get(CursorRow, (adapter, key))
            return row.value if row else None

        result: str | None = self.transaction(work)
        return result

    def set_cursor(self, cursor: CursorUpdate) -> None:
        self.transaction(lambda session: _set_cursor(session, cursor))

    # --- decisions -----------------------------------------------------------------------------

    def record(
        self, items: Sequence[tuple[int, Post, Decision, Sequence[ActionSpec]]], decided_by: str = "modbot"
    ) -> list[int | None]:
        """Write each decision with its case and outbox actions, moving the post to decided.
        A post already decided (another worker, a replay) gets None and nothing is written."""

        def work(session: Session) -> list[int | None]:
            # One guarded UPDATE claims every post not yet decided; only those get a decision.
            moved = set(
                session.scalars(
                    update(PostRow)
                    .where(PostRow.id.in_([item[0] for item in items]), PostRow.status != "decided")
                    .values(status="decided", attempts=PostRow.attempts + 1, last_error=None)
                    .returning(PostRow.id)
                )
            )
            todo = list({item[0]: item for item in items if item[0] in moved}.values())
            rows = [_decision_row(post_row, decision, decided_by) for post_row, _, decision, _ in todo]
            session.add_all(rows)
            session.flush()
            cases = {
                row.post_id: _case_row(row, post, decision)
                for row, (_, post, decision, _) in zip(rows, todo, strict=True)
                if decision.outcome.needs_review
            }
            session.add_all(cases.values())
            session.flush()
            for row, (post_row, post, _, actions) in zip(rows, todo, strict=True):
                case_id = cases[post_row].id if post_row in cases else None
                # A draft request travels with the actions so it lands in this same transaction.
                session.add_all(
                    DraftRow(post_id=post_row, decision_id=row.id, trigger=spec.params["trigger"], params=spec.params)
                    if spec.kind == DRAFT
                    else _action_row(post_row, post.platform, spec, f"d{row.id}:{spec.kind}", row.id, case_id)
                    for spec in actions
                )
            ids = {row.post_id: row.id for row in rows}
            return [ids.get(item[0]) for item in items]

        result: list[int | None] = self.transaction(work)
        return result

    def decisions_for(self, platform: str, community: str, post_ids: Sequence[str]) -> dict[str, StoredDecision]:
        """Latest decision per platform post id (for summaries of already-seen input)."""

        def work(session: Session) -> dict[str, StoredDecision]:
            out: dict[str, StoredDecision] = {}
            for chunk in chunks(list(post_ids)):
                rows = session.execute(
                    select(PostRow.platform_post_id, DecisionRow)
                    .join(DecisionRow, DecisionRow.post_id == PostRow.id)
                    .where(
                        PostRow.platform == platform,
                        PostRow.community == community,
                        PostRow.platform_post_id.in_(chunk),
                    )
                    .order_by(DecisionRow.id)
                )
                for pid, d in rows:
                    out[pid] = _stored_decision(d)
            return out

        result: dict[str, StoredDecision] = self.transaction(work)
        return result

    def counts(self) -> dict[str, int]:
        def work(session: Session) -> dict[str, int]:
            out = {
                f"posts_{s}": n
                for s, n in session.execute(select(PostRow.status, func.count()).group_by(PostRow.status))
            }
            out.update(
                {
                    f"decisions_{o}": n
                    for o, n in session.execute(select(DecisionRow.outcome, func.count()).group_by(DecisionRow.outcome))
                }
            )
            out.update(
                {
                    f"cases_{s}": n
                    for s, n in session.execute(select(CaseRow.state, func.count()).group_by(CaseRow.state))
                }
            )
            return out

        result: dict[str, int] = self.transaction(work)
        return result

    # --- review ----------------------------------------------------------------------------------

    def cases(
        self,
        states: Sequence[str] = ("open", "escalated"),
        limit: int = 50,
        platform: str | None = None,
        community: str | None = None,
    ) -> list[CaseView]:
        def work(session: Session) -> list[CaseView]:
            query = (
                select(CaseRow, PostRow, DecisionRow)
                .join(PostRow, CaseRow.post_id == PostRow.id)
                .join(DecisionRow, CaseRow.decision_id == DecisionRow.id)
                .where(CaseRow.state.in_(list(states)))
            )
            if platform is not None:
                query = query.where(PostRow.platform == platform)
            if community is not None:
                query = query.where(PostRow.community == community)
            rows = session.execute(query.order_by(CaseRow.id).limit(limit))
            return [_case_view(c, p, d) for c, p, d in rows]

        result: list[CaseView] = self.transaction(work)
        return result

    def case(self, case_id: int) -> CaseView | None:
        def work(session: Session) -> CaseView | None:
            found = session.execute(
                select(CaseRow, PostRow, DecisionRow)
                .join(PostRow, CaseRow.post_id == PostRow.id)
                .join(DecisionRow, CaseRow.decision_id == DecisionRow.id)
                .where(CaseRow.id == case_id)
            ).first()
            if found is None:
                return None
            c, p, d = found
            actions = tuple(
                _action_record(a, p)
                for a in session.scalars(select(ActionRow).where(ActionRow.post_id == p.id).order_by(ActionRow.id))
            )
            audit = tuple(
                AuditRecord(a.at, a.actor, a.action, a.origin, a.details)
                for a in session.scalars(
                    select(AuditRow)
                    .where(AuditRow.target_type == "case", AuditRow.target_id == str(case_id))
                    .order_by(AuditRow.id)
                )
            )
            return _case_view(c, p, d, actions, audit)

        result: CaseView | None = self.transaction(work)
        return result

    def resolve(
        self,
        case_id: int,
        resolution: str,
        actor: str,
        origin: str,
        note: str | None,
        actions: Sequence[ActionSpec],
        verdict: str | None = None,
    ) -> CaseView:
        """Close a case with a verdict, queue the actions it implies and write the audit log, all
        in one transaction. Raises LookupError for an unknown case, ValueError for a closed one."""

        def work(session: Session) -> None:
            case = _open_case(session, case_id)
            case.state, case.resolution, case.closed_by = "closed", resolution, actor
            case.closed_at = utcnow()
            if note:
                case.note = note
            post = session.get(PostRow, case.post_id)
            assert post is not None
            for spec in actions:
                key = f"c{case_id}:{spec.kind}"
                done_before = session.scalar(
                    select(ActionRow.id).where(
                        ActionRow.post_id == post.id, ActionRow.kind == spec.kind, ActionRow.state != "failed"
                    )
                )
                if done_before is None:
                    session.add(_action_row(post.id, post.platform, spec, key, case_id=case_id))
            session.add(
                AuditRow(
                    actor=actor,
                    action=f"case.{resolution}",
                    target_type="case",
                    target_id=str(case_id),
                    origin=origin,
                    details={"note": note, "verdict": verdict or resolution, "actions": [a.kind for a in actions]},
                )
            )

        self.transaction(work)
        view = self.case(case_id)
        assert view is not None
        return view

    def escalate(self, case_id: int, actor: str, origin: str, note: str | None) -> CaseView:
        def work(session: Session) -> None:
            case = _open_case(session, case_id)
            case.state = "escalated"
            if note:
                case.note = note
            session.add(
                AuditRow(
                    actor=actor,
                    action="case.escalated",
                    target_type="case",
                    target_id=str(case_id),
                    origin=origin,
                    details={"note": note},
                )
            )

        self.transaction(work)
        view = self.case(case_id)
        assert view is not None
        return view

    def author_record(self, platform: str, community: str, author_id: str, days: int = 90) -> dict[str, int]:
        """Decisions by outcome and upheld removals ("strikes") for one author, for reviewers."""

        def work(session: Session) -> dict[str, int]:
            since = utcnow() - timedelta(days=days)
            scope = (PostRow.platform == platform, PostRow.community == community, PostRow.author_id == author_id)
            out = {
                o: n
                for o, n in session.execute(
                    select(DecisionRow.outcome, func.count())
                    .join(PostRow, DecisionRow.post_id == PostRow.id)
                    .where(*scope, DecisionRow.decided_at >= since)
                    .group_by(DecisionRow.outcome)
                )
            }
            out["strikes"] = (
                session.scalar(
                    select(func.count())
                    .select_from(CaseRow)
                    .join(PostRow, CaseRow.post_id == PostRow.id)
                    .where(*scope, CaseRow.resolution == "removed", CaseRow.opened_at >= since)
                )
                or 0
            )
            return out

        result: dict[str, int] = self.transaction(work)
        return result

    def outcome_counts(self, platform: str, community: str, since: datetime) -> dict[str, int]:
        def work(session: Session) -> dict[str, int]:
            rows = session.execute(
                select(DecisionRow.outcome, func.count())
                .join(PostRow, DecisionRow.post_id == PostRow.id)
                .where(PostRow.platform == platform, PostRow.community == community, DecisionRow.decided_at >= since)
                .group_by(DecisionRow.outcome)
            )
            return {o: n for o, n in rows}

        result: dict[str, int] = self.transaction(work)
        return result

    def decision_outcomes(self, since: datetime) -> list[tuple[str, str, str | None]]:
        """(normalised text, outcome, case resolution or None) of every decision since `since`,
        for the live bias audit."""

        def work(session: Session) -> list[tuple[str, str, str | None]]:
            rows = session.execute(
                select(DecisionRow.normalised_text, DecisionRow.outcome, CaseRow.resolution)
                .outerjoin(CaseRow, CaseRow.decision_id == DecisionRow.id)
                .where(DecisionRow.decided_at >= since)
            )
            return [(t or "", o, r) for t, o, r in rows]

        result: list[tuple[str, str, str | None]] = self.transaction(work)
        return result

    def claim_keys(self) -> set[tuple[str, str]]:
        def work(session: Session) -> set[tuple[str, str]]:
            return {(u, s) for u, s in session.execute(select(ClaimRow.url, ClaimRow.claim_sha256))}

        result: set[tuple[str, str]] = self.transaction(work)
        return result

    def add_claims(self, rows: Sequence[dict[str, Any]]) -> None:
        self.transaction(lambda session: session.add_all(ClaimRow(**row) for row in rows))

    def claims(self, embedding_model: str) -> list[ClaimRow]:
        """Every claim embedded with `embedding_model` (claims embedded by another model need a re-import)."""

        def work(session: Session) -> list[ClaimRow]:
            return list(
                session.scalars(
                    select(ClaimRow).where(ClaimRow.embedding_model == embedding_model).order_by(ClaimRow.id)
                )
            )

        result: list[ClaimRow] = self.transaction(work)
        return result

    def fact_check(self, claim_id: int) -> ClaimRow | None:
        result: ClaimRow | None = self.transaction(lambda session: session.get(ClaimRow, claim_id))
        return result

    def shadow_overrides(self) -> dict[tuple[str, str], bool]:
        """Shadow mode switched at run time (e.g. `/modbot shadow`), per platform and community."""

        def work(session: Session) -> dict[tuple[str, str], bool]:
            rows = session.scalars(select(CommunitySettingsRow).where(CommunitySettingsRow.shadow.is_not(None)))
            return {(r.platform, r.community): bool(r.shadow) for r in rows}

        result: dict[tuple[str, str], bool] = self.transaction(work)
        return result

    def set_shadow(self, platform: str, community: str, shadow: bool, actor: str, origin: str) -> None:
        def work(session: Session) -> None:
            row = session.get(CommunitySettingsRow, (platform, community))
            if row is None:
                session.add(
                    CommunitySettingsRow(platform=platform, community=community, shadow=shadow, updated_by=actor)
                )
            else:
                row.shadow, row.updated_by, row.updated_at = shadow, actor, utcnow()
            session.add(
                AuditRow(
                    actor=actor,
                    action="community.shadow",
                    target_type="community",
                    target_id=f"{platform}:{community}",
                    origin=origin,
                    details={"shadow": shadow},
                )
            )

        self.transaction(work)

    def audit(
        self, actor: str, action: str, target_type: str, target_id: str, origin: str, details: dict[str, Any]
    ) -> None:
        self.transaction(
            lambda s: s.add(
                AuditRow(
                    actor=actor,
                    action=action,
                    target_type=target_type,
                    target_id=target_id,
                    origin=origin,
                    details=details,
                )
            )
        )

    # --- outbox ----------------------------------------------------------------------------------

    def claim_actions(self, platforms: Sequence[str], limit: int = 20) -> list[ActionRecord]:
        """Due pending actions for these platforms, marked running so no other executor takes them."""

        def work(session: Session) -> list[ActionRecord]:
            rows = session.execute(
                select(ActionRow, PostRow)
                .join(PostRow, ActionRow.post_id == PostRow.id)
                .where(
                    ActionRow.state == "pending",
                    ActionRow.not_before <= utcnow(),
                    ActionRow.platform.in_(list(platforms)),
                )
                .order_by(ActionRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=ActionRow)
            ).all()
            for action, _ in rows:
                action.state, action.attempts, action.updated_at = "running", action.attempts + 1, utcnow()
            return [_action_record(a, p) for a, p in rows]

        result: list[ActionRecord] = self.transaction(work)
        return result

    def finish_action(self, action_id: int, ok: bool, result: str, retry_in: timedelta | None = None) -> None:
        """Record an attempt's outcome: done, failed for good, or pending again after `retry_in`."""

        def work(session: Session) -> None:
            row = session.get(ActionRow, action_id)
            if row is None:
                return
            row.result, row.updated_at = result[:4000], utcnow()
            if ok:
                row.state = "done"
            elif retry_in is not None:
                row.state, row.not_before = "pending", utcnow() + retry_in
            else:
                row.state = "failed"
            if row.kind == "reply" and "draft_id" in row.params and row.state != "pending":
                draft = session.get(DraftRow, int(row.params["draft_id"]))
                if draft is not None:
                    draft.status, draft.updated_at = ("sent" if ok else "failed"), utcnow()
                    if not ok:
                        draft.reasons = [*draft.reasons, f"sending failed: {result[:500]}"]

        self.transaction(work)

    def outbox_backlog(self) -> dict[str, int]:
        """Actions not done, by state (for /metrics)."""

        def work(session: Session) -> dict[str, int]:
            rows = session.execute(
                select(ActionRow.state, func.count()).where(ActionRow.state != "done").group_by(ActionRow.state)
            )
            return {state: n for state, n in rows}

        result: dict[str, int] = self.transaction(work)
        return result

    def ping(self) -> None:
        self.transaction(lambda session: session.execute(select(1)))

    def requeue_running(self) -> int:
        """Actions left running by a crash go back to pending (adapters act idempotently)."""

        def work(session: Session) -> int:
            res = session.execute(update(ActionRow).where(ActionRow.state == "running").values(state="pending"))
            return int(res.rowcount)  # type: ignore[attr-defined]

        result: int = self.transaction(work)
        return result


def _open_case(session: Session, case_id: int) -> CaseRow:
    """The case, locked for update; LookupError if there is none, ValueError if it is closed."""
    case = session.get(CaseRow, case_id, with_for_update=True)
    if case is None:
        raise LookupError(f"no case {case_id}")
    if case.state == "closed":
        raise ValueError(f"case {case_id} is already closed ({case.resolution} by {case.closed_by})")
    return case


def chunks(items: Sequence[T], size: int = 500) -> Iterable[list[T]]:
    """Slices of `items` for IN (...) lists that stay under the databases' parameter limits."""
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _set_cursor(session: Session, cursor: CursorUpdate) -> None:
    row = session.get(CursorRow, (cursor.adapter, cursor.key))
    if row is None:
        session.add(CursorRow(adapter=cursor.adapter, key=cursor.key, value=cursor.value))
    else:
        row.value, row.updated_at = cursor.value, utcnow()


def _post_row(post: Post) -> PostRow:
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
        status="pending",
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


def _decision_row(post_row: int, decision: Decision, decided_by: str) -> DecisionRow:
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
        decided_by=decided_by,
    )


def _case_row(decision_row: DecisionRow, post: Post, decision: Decision) -> CaseRow:
    top = decision.reasons[0] if decision.reasons else None
    return CaseRow(
        post_id=decision_row.post_id,
        decision_id=decision_row.id,
        state="open",
        platform=post.platform,
        community=post.community,
        category=top.category if top else "",
        score=top.score if top else 0.0,
    )


def _stored_decision(d: DecisionRow) -> StoredDecision:
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
    )


def _case_view(
    c: CaseRow, p: PostRow, d: DecisionRow, actions: tuple[ActionRecord, ...] = (), audit: tuple[AuditRecord, ...] = ()
) -> CaseView:
    return CaseView(
        id=c.id,
        state=c.state,
        resolution=c.resolution,
        note=c.note,
        assignee=c.assignee,
        opened_at=c.opened_at,
        closed_at=c.closed_at,
        closed_by=c.closed_by,
        post_row=p.id,
        post=post_from_row(p),
        decision=_stored_decision(d),
        actions=actions,
        audit=audit,
    )


def _action_row(
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
        state="pending",
    )


def _action_record(a: ActionRow, p: PostRow) -> ActionRecord:
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
