"""Appeals: a user asks the moderators to look again at the decision on their post. One per case;
opening one puts the case back in the queue (appealed), answering it closes the case again, and
both are audit-logged in the case's history with the actions they queue, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.storage.base import Transactional
from bot.storage.records import AppealState, AppealView, CaseState, Resolution, action_row, audit_row, chunks
from bot.storage.schema import AppealRow, CaseRow, PostRow, utcnow
from moderation.actions import ActionSpec

APPEAL_TEXT_LIMIT = 4000


class Appeals(Transactional):
    def open_appeal(self, case_id: int, author_id: str, text: str, via: str, alert: ActionSpec | None) -> AppealView:
        """The post's author appeals the case's decision; `alert` (the mod channel's copy) is queued
        with it. LookupError: no such case. ValueError: not the author's post, or already appealed
        (saying how that appeal stands)."""

        def work(session: Session) -> AppealView:
            case = session.get(CaseRow, case_id, with_for_update=True)
            if case is None:
                raise LookupError(f"no case {case_id}")
            post = session.get(PostRow, case.post_id)
            assert post is not None
            if post.author_id != author_id:
                raise ValueError(f"case {case_id} is about someone else's post")
            earlier = session.scalar(select(AppealRow).where(AppealRow.case_id == case_id))
            if earlier is not None:
                raise ValueError(f"this decision was appealed already ({earlier.state})")
            row = AppealRow(case_id=case_id, author_id=author_id, text=text[:APPEAL_TEXT_LIMIT], via=via[:200])
            row.state, row.opened_at = AppealState.OPEN, utcnow()
            session.add(row)
            case.state = CaseState.APPEALED
            session.flush()
            if alert is not None:
                session.add(action_row(post.id, post.platform, alert, f"a{row.id}:{alert.kind}", case_id=case_id))
            session.add(audit_row(author_id, "appeal.opened", "case", case_id, via, {"appeal": row.id}))
            return appeal_view(row)

        result: AppealView = self.transaction(work)
        return result

    def answer_appeal(
        self,
        case_id: int,
        state: AppealState,
        actor: str,
        origin: str,
        answer: str | None,
        actions: Sequence[ActionSpec],
    ) -> AppealView:
        """Uphold or overturn the case's open appeal and queue `actions` (the reversals an overturn
        takes, the message telling the user). An overturned case closes as approved: the post was
        fine. LookupError: no appeal; ValueError: answered already."""

        def work(session: Session) -> AppealView:
            row = session.scalar(select(AppealRow).where(AppealRow.case_id == case_id).with_for_update())
            if row is None:
                raise LookupError(f"case {case_id} has no appeal")
            if row.state != AppealState.OPEN:
                raise ValueError(f"the appeal on case {case_id} was {row.state} by {row.decided_by} already")
            row.state, row.decided_at, row.decided_by, row.answer = state, utcnow(), actor, answer
            case = session.get(CaseRow, case_id)
            assert case is not None
            if case.state != CaseState.CLOSED or state == AppealState.OVERTURNED:
                case.closed_at, case.closed_by = utcnow(), actor
            case.state = CaseState.CLOSED
            if state == AppealState.OVERTURNED:
                case.resolution = Resolution.APPROVED
            elif case.resolution is None:
                case.resolution = Resolution.REMOVED
            post = session.get(PostRow, case.post_id)
            assert post is not None
            for spec in actions:
                session.add(action_row(post.id, post.platform, spec, f"a{row.id}:{spec.kind}", case_id=case_id))
            details: dict[str, object] = {"appeal": row.id, "answer": answer, "actions": [a.kind for a in actions]}
            session.add(audit_row(actor, f"appeal.{state}", "case", case_id, origin, details))
            return appeal_view(row)

        result: AppealView = self.transaction(work)
        return result

    def appeals_waiting(self, limit: int = 50) -> list[AppealView]:
        """Open appeals, oldest first."""

        def work(session: Session) -> list[AppealView]:
            rows = session.scalars(
                select(AppealRow).where(AppealRow.state == AppealState.OPEN).order_by(AppealRow.id).limit(limit)
            )
            return [appeal_view(r) for r in rows]

        result: list[AppealView] = self.transaction(work)
        return result


def appeal_view(row: AppealRow) -> AppealView:
    return AppealView(
        id=row.id,
        case_id=row.case_id,
        author_id=row.author_id,
        text=row.text,
        via=row.via,
        state=AppealState(row.state),
        opened_at=row.opened_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        answer=row.answer,
    )


def forget_appeals(session: Session, post_ids: list[int], pseudonym: str | None) -> None:
    """What a user wrote in appeals goes with their posts' text (retention, `modbot forget`); with
    a pseudonym (forget) the appeal no longer names them either."""
    values: dict[str, str] = {"text": ""} if pseudonym is None else {"text": "", "author_id": pseudonym}
    for chunk in chunks(post_ids):
        cases = select(CaseRow.id).where(CaseRow.post_id.in_(chunk))
        session.execute(update(AppealRow).where(AppealRow.case_id.in_(cases)).values(**values))
