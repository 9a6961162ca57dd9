"""Decisions out: each written with its case, outbox actions and draft requests in the
transaction that moves its post to decided; and the counts reviewers and /metrics read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.storage.base import Transactional
from bot.storage.records import (
    PostStatus,
    Resolution,
    StoredDecision,
    action_row,
    case_row,
    chunks,
    decision_row,
    stored_decision,
)
from bot.storage.schema import (
    CaseRow,
    DecisionRow,
    DraftRow,
    PostRow,
    utcnow,
)
from moderation.actions import DRAFT, ActionSpec
from moderation.types import Decision, Post


class Decisions(Transactional):
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
                    .where(PostRow.id.in_([item[0] for item in items]), PostRow.status != PostStatus.DECIDED)
                    .values(status=PostStatus.DECIDED, attempts=PostRow.attempts + 1, last_error=None)
                    .returning(PostRow.id)
                )
            )
            todo = list({item[0]: item for item in items if item[0] in moved}.values())
            rows = [decision_row(post_row, decision, decided_by) for post_row, _, decision, _ in todo]
            session.add_all(rows)
            session.flush()
            cases = {
                row.post_id: case_row(row, post, decision)
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
                    else action_row(post_row, post.platform, spec, f"d{row.id}:{spec.kind}", row.id, case_id)
                    for spec in actions
                )
            ids = {row.post_id: row.id for row in rows}
            return [ids.get(item[0]) for item in items]

        return self.transaction(work)

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
                    out[pid] = stored_decision(d)
            return out

        return self.transaction(work)

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

        return self.transaction(work)

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
                    .where(*scope, CaseRow.resolution == Resolution.REMOVED, CaseRow.opened_at >= since)
                )
                or 0
            )
            return out

        return self.transaction(work)

    def outcome_counts(self, platform: str, community: str, since: datetime) -> dict[str, int]:
        def work(session: Session) -> dict[str, int]:
            rows = session.execute(
                select(DecisionRow.outcome, func.count())
                .join(PostRow, DecisionRow.post_id == PostRow.id)
                .where(PostRow.platform == platform, PostRow.community == community, DecisionRow.decided_at >= since)
                .group_by(DecisionRow.outcome)
            )
            return {o: n for o, n in rows}

        return self.transaction(work)

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

        return self.transaction(work)
