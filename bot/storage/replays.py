"""Stored decisions read back to measure a change before it goes live: each post's latest decision
with what scored it and the moderator's verdict (`modbot replay`), and the judged cases' scores
(`modbot calibrate`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from bot.storage.base import Transactional
from bot.storage.records import Resolution, post_from_row
from bot.storage.schema import CaseRow, DecisionRow, PostRow
from moderation.calibration import Judged
from moderation.types import Outcome, Post


@dataclass(frozen=True, slots=True)
class StoredForReplay:
    decision_id: int
    post: Post
    """as it arrived; its text is empty where retention purged it (`purged`)"""
    purged: bool
    outcome: Outcome
    category: str
    """the category its case was opened for ("" without a case)"""
    scores_by_scorer: dict[str, dict[str, float]]
    scorer_versions: dict[str, str]
    policy_version: str
    language: str | None
    verdict: Resolution | None
    """how a moderator closed the decision's case, if one did"""


@dataclass(frozen=True, slots=True)
class Verdicted:
    """A post a moderator judged: what a community model learns from (`modbot learn`)."""

    post: Post
    category: str
    """the category its case was opened for"""
    confirmed: bool
    """removed: the flag was right; approved: it was not"""
    moderator: str


class Replays(Transactional):
    def stored_for_replay(
        self, since: datetime, community: str | None = None, chunk: int = 2000
    ) -> Iterator[list[StoredForReplay]]:
        """Every post decided since `since` (its latest decision: an edit or a re-decision
        supersedes), oldest first, in chunks so 100,000 of them never sit in one result set."""
        later = aliased(DecisionRow)
        superseded = exists().where(later.post_id == DecisionRow.post_id, later.id > DecisionRow.id)
        after = 0
        while True:
            query = (
                select(
                    PostRow,
                    DecisionRow.id,
                    DecisionRow.outcome,
                    DecisionRow.scores_by_scorer,
                    DecisionRow.scorer_versions,
                    DecisionRow.policy_version,
                    DecisionRow.language,
                    CaseRow.category,
                    CaseRow.resolution,
                )
                .join(DecisionRow, DecisionRow.post_id == PostRow.id)
                .outerjoin(CaseRow, CaseRow.decision_id == DecisionRow.id)
                .where(DecisionRow.decided_at >= since, DecisionRow.id > after, ~superseded)
                .order_by(DecisionRow.id)
                .limit(chunk)
            )
            if community is not None:
                query = query.where(PostRow.community == community)

            def work(session: Session, query: object = query) -> list[StoredForReplay]:
                return [
                    StoredForReplay(
                        decision_id=ident,
                        post=post_from_row(p),
                        purged=p.text is None,
                        outcome=Outcome(outcome),
                        category=category or "",
                        scores_by_scorer=by_scorer,
                        scorer_versions=versions,
                        policy_version=policy,
                        language=language,
                        verdict=Resolution(r) if r else None,
                    )
                    for p, ident, outcome, by_scorer, versions, policy, language, category, r in session.execute(query)  # type: ignore[call-overload]
                ]

            rows = self.transaction(work)
            if not rows:
                return
            yield rows
            if len(rows) < chunk:
                return
            after = rows[-1].decision_id

    def judged(self, since: datetime) -> dict[tuple[str, str, str], list[Judged]]:
        """(platform, community, category) -> the score and verdict of every case closed since
        `since`, under the category it was opened for (by modbot, or by a moderator reporting a
        post it allowed): removed confirms it, approved overturns it."""

        def work(session: Session) -> dict[tuple[str, str, str], list[Judged]]:
            rows = session.execute(
                select(CaseRow.platform, CaseRow.community, CaseRow.category, CaseRow.resolution, CaseRow.reported_by)
                .add_columns(DecisionRow.scores)
                .join(DecisionRow, DecisionRow.id == CaseRow.decision_id)
                .where(CaseRow.resolution.is_not(None), CaseRow.closed_at >= since)
                .order_by(CaseRow.id)
            )
            out: dict[tuple[str, str, str], list[Judged]] = {}
            for platform, community, category, resolution, reporter, scores in rows:
                # a post reported as missed may have no score of its category at all: then it had 0
                if category in scores or reporter is not None:
                    judged = Judged(float(scores.get(category, 0.0)), resolution == Resolution.REMOVED)
                    out.setdefault((platform, community, category), []).append(judged)
            return out

        return self.transaction(work)

    def verdicted(self, platform: str, community: str, since: datetime) -> tuple[list[Verdicted], int]:
        """The community's judged posts closed since `since`, oldest first, and how many more
        were judged but have no text left (retention purged it: nothing to learn from)."""
        judged = (Resolution.REMOVED.value, Resolution.APPROVED.value)

        def work(session: Session) -> tuple[list[Verdicted], int]:
            rows = session.execute(
                select(PostRow, CaseRow.category, CaseRow.resolution, CaseRow.closed_by)
                .join(DecisionRow, DecisionRow.id == CaseRow.decision_id)
                .join(PostRow, PostRow.id == DecisionRow.post_id)
                .where(
                    CaseRow.platform == platform,
                    CaseRow.community == community,
                    CaseRow.resolution.in_(judged),
                    CaseRow.closed_at >= since,
                )
                .order_by(CaseRow.id)
            )
            out, purged = [], 0
            for post, category, resolution, moderator in rows:
                if post.text is None:
                    purged += 1
                    continue
                confirmed = resolution == Resolution.REMOVED
                out.append(Verdicted(post_from_row(post), category, confirmed, moderator or "unknown"))
            return out, purged

        return self.transaction(work)
