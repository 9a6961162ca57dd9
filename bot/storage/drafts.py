"""Reads and writes of reply drafts: requested, generated, decided by a moderator, sent.

A draft moves queued -> generating -> proposed | rejected | failed, then a moderator (or the
community's auto-send) approves or edits it, which queues a `reply` action in the outbox in the same
transaction; the executor marks the draft sent or failed when the action ends (see
Store.finish_action). Every human step is in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.storage.records import ActionState, DraftStatus, post_from_row
from bot.storage.schema import ActionRow, AuditRow, DraftRow, PostRow, utcnow
from bot.storage.store import Store
from moderation.types import Post

DraftVerdict = Literal["approve", "edit", "reject"]


@dataclass(frozen=True, slots=True)
class DraftView:
    id: int
    post_row: int
    post: Post
    decision_id: int | None
    trigger: str
    params: dict[str, Any]
    status: str
    text: str | None
    reasons: tuple[str, ...]
    citations: tuple[str, ...]
    scores: dict[str, float]
    model_version: str | None
    prompt_version: str | None
    requested_by: str
    decided_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DraftOutcome:
    """What generation and the gates made of a draft."""

    status: Literal[DraftStatus.PROPOSED, DraftStatus.REJECTED, DraftStatus.ABSTAINED, DraftStatus.FAILED]
    text: str | None
    model_text: str | None
    reasons: tuple[str, ...]
    citations: tuple[str, ...]
    scores: dict[str, float]
    model_version: str | None
    prompt_version: str | None


class DraftStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def request(self, post_row: int, trigger: str, params: dict[str, Any], actor: str, origin: str) -> int:
        def work(session: Session) -> int:
            if session.get(PostRow, post_row) is None:
                raise LookupError(f"no post {post_row}")
            row = DraftRow(post_id=post_row, trigger=trigger, params=params, requested_by=actor)
            session.add(row)
            session.flush()
            session.add(_audit(actor, "draft.request", row.id, origin, {"trigger": trigger, **params}))
            return row.id

        result: int = self.store.transaction(work)
        return result

    def claim(self, limit: int) -> list[DraftView]:
        """Queued drafts, oldest first, marked generating so no other worker takes them."""

        def work(session: Session) -> list[DraftView]:
            rows = session.execute(
                select(DraftRow, PostRow)
                .join(PostRow, DraftRow.post_id == PostRow.id)
                .where(DraftRow.status == DraftStatus.QUEUED)
                .order_by(DraftRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=DraftRow)
            ).all()
            for draft, _ in rows:
                draft.status, draft.updated_at = DraftStatus.GENERATING, utcnow()
            return [_view(d, p) for d, p in rows]

        result: list[DraftView] = self.store.transaction(work)
        return result

    def requeue_generating(self) -> int:
        """Drafts a crash left half-generated go back to the queue."""

        def work(session: Session) -> int:
            res = session.execute(
                update(DraftRow).where(DraftRow.status == DraftStatus.GENERATING).values(status=DraftStatus.QUEUED)
            )
            return int(res.rowcount)  # type: ignore[attr-defined]

        result: int = self.store.transaction(work)
        return result

    def finish(self, draft_id: int, outcome: DraftOutcome) -> None:
        def work(session: Session) -> None:
            row = session.get(DraftRow, draft_id)
            if row is None:
                return
            row.status, row.text, row.model_text = outcome.status, outcome.text, outcome.model_text
            row.reasons, row.citations, row.scores = list(outcome.reasons), list(outcome.citations), outcome.scores
            row.model_version, row.prompt_version, row.updated_at = (
                outcome.model_version,
                outcome.prompt_version,
                utcnow(),
            )

        self.store.transaction(work)

    def drafts(self, statuses: Sequence[str] = (), limit: int = 100) -> list[DraftView]:
        def work(session: Session) -> list[DraftView]:
            q = select(DraftRow, PostRow).join(PostRow, DraftRow.post_id == PostRow.id)
            if statuses:
                q = q.where(DraftRow.status.in_(list(statuses)))
            return [_view(d, p) for d, p in session.execute(q.order_by(DraftRow.id.desc()).limit(limit)).all()]

        result: list[DraftView] = self.store.transaction(work)
        return result

    def drafts_for_post(self, post_row: int) -> list[DraftView]:
        def work(session: Session) -> list[DraftView]:
            q = select(DraftRow, PostRow).join(PostRow, DraftRow.post_id == PostRow.id).where(PostRow.id == post_row)
            return [_view(d, p) for d, p in session.execute(q.order_by(DraftRow.id)).all()]

        result: list[DraftView] = self.store.transaction(work)
        return result

    def draft(self, draft_id: int) -> DraftView | None:
        def work(session: Session) -> DraftView | None:
            row = session.execute(
                select(DraftRow, PostRow).join(PostRow, DraftRow.post_id == PostRow.id).where(DraftRow.id == draft_id)
            ).first()
            return _view(row[0], row[1]) if row else None

        result: DraftView | None = self.store.transaction(work)
        return result

    def decide(
        self,
        draft_id: int,
        verdict: DraftVerdict,
        actor: str,
        origin: str,
        text: str | None = None,
        note: str | None = None,
    ) -> DraftView:
        """Approve (send as drafted), edit (send `text` instead) or reject a proposed draft. Sending
        means a `reply` action in the outbox, written in this transaction. Raises LookupError for an
        unknown draft, ValueError for one that is not waiting for a decision."""

        def work(session: Session) -> None:
            row = session.get(DraftRow, draft_id, with_for_update=True)
            if row is None:
                raise LookupError(f"no draft {draft_id}")
            if row.status != DraftStatus.PROPOSED:
                raise ValueError(f"draft {draft_id} is {row.status}, not proposed: nothing to decide")
            now = utcnow()
            row.decided_by, row.decided_at, row.updated_at = actor, now, now
            if verdict == "reject":
                row.status = DraftStatus.REJECTED
                row.reasons = [*row.reasons, f"rejected by {actor}" + (f": {note}" if note else "")]
            else:
                if verdict == "edit":
                    if not text or not text.strip():
                        raise ValueError("an edited draft needs its new text")
                    row.text = text
                row.status = DraftStatus.APPROVED if verdict == "approve" else DraftStatus.EDITED
                post = session.get(PostRow, row.post_id)
                assert post is not None
                action = ActionRow(
                    post_id=post.id,
                    decision_id=row.decision_id,
                    platform=post.platform,
                    kind="reply",
                    params={"text": row.text, "draft_id": row.id, "reason": f"reply draft {row.id} {row.status}"},
                    idempotency_key=f"draft{row.id}:reply",
                    state=ActionState.PENDING,
                )
                session.add(action)
                session.flush()
                row.action_id = action.id
            details: dict[str, Any] = {"verdict": verdict, "note": note}
            if verdict == "edit":
                details["text"] = text
            session.add(_audit(actor, f"draft.{verdict}", draft_id, origin, details))

        self.store.transaction(work)
        view = self.draft(draft_id)
        assert view is not None
        return view

    def auto_sent_since(self, community: str, since: datetime) -> int:
        def work(session: Session) -> int:
            return int(
                session.scalar(
                    select(func.count(DraftRow.id))
                    .join(PostRow, DraftRow.post_id == PostRow.id)
                    .where(
                        PostRow.community == community, DraftRow.decided_by == AUTO_SEND, DraftRow.decided_at >= since
                    )
                )
                or 0
            )

        result: int = self.store.transaction(work)
        return result


AUTO_SEND = "modbot (auto-send)"


def _audit(actor: str, action: str, draft_id: int, origin: str, details: dict[str, Any]) -> AuditRow:
    return AuditRow(
        actor=actor, action=action, target_type="draft", target_id=str(draft_id), origin=origin, details=details
    )


def _view(d: DraftRow, p: PostRow) -> DraftView:
    return DraftView(
        id=d.id,
        post_row=p.id,
        post=post_from_row(p),
        decision_id=d.decision_id,
        trigger=d.trigger,
        params=dict(d.params or {}),
        status=d.status,
        text=d.text,
        reasons=tuple(d.reasons or ()),
        citations=tuple(d.citations or ()),
        scores=dict(d.scores or {}),
        model_version=d.model_version,
        prompt_version=d.prompt_version,
        requested_by=d.requested_by,
        decided_by=d.decided_by,
        created_at=d.created_at,
    )
