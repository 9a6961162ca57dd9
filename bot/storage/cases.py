"""The review queue's cases: listed, read in full (actions and audit), resolved and escalated."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.storage.appeals import appeal_view
from bot.storage.base import Transactional
from bot.storage.records import (
    WAITING,
    ActionState,
    AuditRecord,
    CaseState,
    CaseView,
    action_record,
    action_row,
    audit_row,
    case_view,
)
from bot.storage.schema import (
    ActionRow,
    AppealRow,
    AuditRow,
    CaseRow,
    DecisionRow,
    PostRow,
    utcnow,
)
from moderation.actions import ActionSpec


class Cases(Transactional):
    def cases(
        self,
        states: Sequence[str] = WAITING,
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
            return [case_view(c, p, d) for c, p, d in rows]

        return self.transaction(work)

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
                action_record(a, p)
                for a in session.scalars(select(ActionRow).where(ActionRow.post_id == p.id).order_by(ActionRow.id))
            )
            action_ids = [str(a.id) for a in actions]
            audit = tuple(
                AuditRecord(a.at, a.actor, a.action, a.origin, a.details)
                for a in session.scalars(
                    select(AuditRow)
                    .where(
                        or_(
                            and_(AuditRow.target_type == "case", AuditRow.target_id == str(case_id)),
                            and_(AuditRow.target_type == "action", AuditRow.target_id.in_(action_ids)),
                        )
                    )
                    .order_by(AuditRow.id)
                )
            )
            appeal = session.scalar(select(AppealRow).where(AppealRow.case_id == case_id))
            return case_view(c, p, d, actions, audit, appeal_view(appeal) if appeal else None)

        return self.transaction(work)

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
            case.state, case.resolution, case.closed_by = CaseState.CLOSED, resolution, actor
            case.closed_at = utcnow()
            if note:
                case.note = note
            post = session.get(PostRow, case.post_id)
            assert post is not None
            for spec in actions:
                key = f"c{case_id}:{spec.kind}"
                done_before = session.scalar(
                    select(ActionRow.id).where(
                        ActionRow.post_id == post.id, ActionRow.kind == spec.kind, ActionRow.state != ActionState.FAILED
                    )
                )
                if done_before is None:
                    session.add(action_row(post.id, post.platform, spec, key, case_id=case_id))
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
            case.state = CaseState.ESCALATED
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

    def report_missed(self, decision_id: int, category: str, actor: str, origin: str, note: str | None) -> CaseView:
        """A moderator says a logged post should have been flagged for `category`: a case opens for
        it in the queue like any flag, marked as theirs, and its verdict is a label like any other
        (removed: the filter missed it). LookupError for an unknown decision, ValueError for one
        that already has a case (judge that one)."""

        def work(session: Session) -> int:
            decision = session.get(DecisionRow, decision_id)
            if decision is None:
                raise LookupError(f"no decision {decision_id}")
            if (case_id := session.scalar(select(CaseRow.id).where(CaseRow.decision_id == decision_id))) is not None:
                raise ValueError(f"decision {decision_id} already has case {case_id}: give that one a verdict")
            return _reported_case(session, decision, category, actor, origin, note, "case.reported_missed")

        view = self.case(self.transaction(work))
        assert view is not None
        return view

    def take_report(
        self, platform: str, platform_post_id: str, category: str, actor: str, origin: str, note: str | None
    ) -> tuple[int, bool]:
        """A user's report of a post modbot decided: a case opens for it (reported by them), or,
        where one is open or closed already, the report joins that case's audit. Returns the case
        and whether it is new; LookupError for a post modbot has not seen."""

        def work(session: Session) -> tuple[int, bool]:
            decision = session.scalar(
                select(DecisionRow)
                .join(PostRow, DecisionRow.post_id == PostRow.id)
                .where(PostRow.platform == platform, PostRow.platform_post_id == platform_post_id)
                .order_by(DecisionRow.id.desc())
                .limit(1)
            )
            if decision is None:
                raise LookupError(f"modbot has not seen {platform_post_id}")
            existing = session.scalar(select(CaseRow.id).where(CaseRow.decision_id == decision.id))
            if existing is not None:
                details = {"category": category, "note": note}
                session.add(audit_row(actor, "case.reported", "case", existing, origin, details))
                return existing, False
            return _reported_case(session, decision, category, actor, origin, note, "case.reported"), True

        result: tuple[int, bool] = self.transaction(work)
        return result


def _reported_case(
    session: Session, decision: DecisionRow, category: str, actor: str, origin: str, note: str | None, action: str
) -> int:
    post = session.get(PostRow, decision.post_id)
    assert post is not None
    case = CaseRow(
        post_id=post.id,
        decision_id=decision.id,
        state=CaseState.OPEN,
        platform=post.platform,
        community=post.community,
        category=category,
        score=float(decision.scores.get(category, 0.0)),
        reported_by=actor,
        note=note,
    )
    session.add(case)
    session.flush()
    details = {"category": category, "score": case.score, "outcome": decision.outcome, "note": note}
    session.add(audit_row(actor, action, "case", case.id, origin, details))
    return case.id


def _open_case(session: Session, case_id: int) -> CaseRow:
    """The case, locked for update; LookupError if there is none, ValueError if it is closed."""
    case = session.get(CaseRow, case_id, with_for_update=True)
    if case is None:
        raise LookupError(f"no case {case_id}")
    if case.state == CaseState.CLOSED:
        raise ValueError(f"case {case_id} is already closed ({case.resolution} by {case.closed_by})")
    if case.state == CaseState.APPEALED:
        raise ValueError(f"case {case_id} has an open appeal: uphold or overturn it")
    return case
