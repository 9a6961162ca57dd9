"""The outbox: actions leased to an executor, their outcomes, the backlog, and recovery after a
crash."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

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
