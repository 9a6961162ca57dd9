"""The outbox: actions leased to an executor, their outcomes, the backlog, and recovery after a
crash."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.storage.base import Transactional
from bot.storage.records import (
    ActionRecord,
    ActionState,
    DraftStatus,
    action_record,
)
from bot.storage.schema import (
    ActionRow,
    AuditRow,
    DraftRow,
    PostRow,
    utcnow,
)


class Outbox(Transactional):
    def lease_actions(self, platforms: Sequence[str], limit: int = 20) -> list[ActionRecord]:
        """Due pending actions for these platforms, marked running so no other executor takes them."""

        def work(session: Session) -> list[ActionRecord]:
            rows = session.execute(
                select(ActionRow, PostRow)
                .join(PostRow, ActionRow.post_id == PostRow.id)
                .where(
                    ActionRow.state == ActionState.PENDING,
                    ActionRow.not_before <= utcnow(),
                    ActionRow.platform.in_(list(platforms)),
                )
                .order_by(ActionRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=ActionRow)
            ).all()
            for action, _ in rows:
                action.state, action.attempts, action.updated_at = ActionState.RUNNING, action.attempts + 1, utcnow()
            return [action_record(a, p) for a, p in rows]

        return self.transaction(work)

    def release_actions(self, action_ids: Sequence[int]) -> int:
        """Leased actions a stopping process will not attempt go back to pending, the attempt their
        lease counted taken back: the next start (or another worker) runs them as if never leased."""

        def work(session: Session) -> int:
            res = session.execute(
                update(ActionRow)
                .where(ActionRow.id.in_(list(action_ids)), ActionRow.state == ActionState.RUNNING)
                .values(state=ActionState.PENDING, attempts=ActionRow.attempts - 1)
            )
            return int(res.rowcount)  # type: ignore[attr-defined]

        return self.transaction(work) if action_ids else 0

    def finish_action(self, action_id: int, ok: bool, result: str, retry_in: timedelta | None = None) -> None:
        """Record an attempt's outcome: done, failed for good, or pending again after `retry_in`."""

        def work(session: Session) -> None:
            row = session.get(ActionRow, action_id)
            if row is None:
                return
            row.result, row.updated_at = result[:4000], utcnow()
            if ok:
                row.state = ActionState.DONE
            elif retry_in is not None:
                row.state, row.not_before = ActionState.PENDING, utcnow() + retry_in
            else:
                row.state = ActionState.FAILED
            if row.kind == "reply" and "draft_id" in row.params and row.state != ActionState.PENDING:
                draft = session.get(DraftRow, int(row.params["draft_id"]))
                if draft is not None:
                    draft.status, draft.updated_at = (DraftStatus.SENT if ok else DraftStatus.FAILED), utcnow()
                    if not ok:
                        draft.reasons = [*draft.reasons, f"sending failed: {result[:500]}"]

        self.transaction(work)

    def outbox_backlog(self) -> dict[str, int]:
        """Actions not done, by state (for /metrics)."""

        def work(session: Session) -> dict[str, int]:
            rows = session.execute(
                select(ActionRow.state, func.count())
                .where(ActionRow.state != ActionState.DONE)
                .group_by(ActionRow.state)
            )
            return {state: n for state, n in rows}

        return self.transaction(work)

    def requeue_running(self) -> int:
        """Actions left running by a crash go back to pending (adapters act idempotently)."""

        def work(session: Session) -> int:
            res = session.execute(
                update(ActionRow).where(ActionRow.state == ActionState.RUNNING).values(state=ActionState.PENDING)
            )
            return int(res.rowcount)  # type: ignore[attr-defined]

        return self.transaction(work)

    def actions_in(self, states: Sequence[ActionState], limit: int = 50) -> list[tuple[ActionRecord, datetime]]:
        """Actions in these states, newest first, each with when it last changed."""

        def work(session: Session) -> list[tuple[ActionRecord, datetime]]:
            rows = session.execute(
                select(ActionRow, PostRow)
                .join(PostRow, ActionRow.post_id == PostRow.id)
                .where(ActionRow.state.in_(list(states)))
                .order_by(ActionRow.id.desc())
                .limit(limit)
            ).all()
            return [(action_record(a, p), a.updated_at) for a, p in rows]

        return self.transaction(work)

    def retry_actions(self, ids: Sequence[int] | None, actor: str, origin: str) -> list[int]:
        """Failed actions (these, or every failed one when `ids` is None) go back to pending with
        their attempts reset, once the cause is fixed; audit-logged. An id that is not a failed
        action is a LookupError naming it, and nothing is re-queued."""

        def work(session: Session) -> list[int]:
            query = select(ActionRow).where(ActionRow.state == ActionState.FAILED)
            if ids is not None:
                query = query.where(ActionRow.id.in_(list(ids)))
            rows = session.execute(query.order_by(ActionRow.id).with_for_update()).scalars().all()
            if ids is not None and (absent := sorted(set(ids) - {r.id for r in rows})):
                raise LookupError(f"not a failed action: {', '.join(map(str, absent))}")
            for row in rows:
                row.state, row.attempts, row.not_before, row.updated_at = ActionState.PENDING, 0, utcnow(), utcnow()
                session.add(
                    AuditRow(
                        actor=actor,
                        action="action.retried",
                        target_type="action",
                        target_id=str(row.id),
                        origin=origin,
                        details={"kind": row.kind, "failed_with": (row.result or "")[:500]},
                    )
                )
            return [r.id for r in rows]

        return self.transaction(work)
