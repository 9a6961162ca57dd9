"""Moderator verdicts on cases. One code path for every review surface (CLI, Discord buttons, and
later the dashboard), so each verdict is audited and acted on the same way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from bot.adapters.base import AppealVerb, CaseVerb, DeskStatus
from bot.storage.records import WAITING, ActionState, AppealState, AppealView, CaseView, Resolution
from bot.storage.store import Store
from moderation.actions import ActionPlanner, Verdict, warning_facts
from moderation.decider import Decider
from moderation.policy import Policy

T = TypeVar("T")

RESOLUTION: dict[Verdict, Resolution] = {
    "approve": Resolution.APPROVED,
    "remove": Resolution.REMOVED,
    "timeout": Resolution.REMOVED,
    "ban": Resolution.REMOVED,
}


@dataclass(frozen=True, slots=True)
class Verdicts:
    """What a verdict means: the policy (timeout length, per community) and the planner (each
    platform's actions for each outcome, as configured)."""

    policy: Policy
    planner: ActionPlanner


def resolve_case(
    store: Store,
    verdicts: Verdicts,
    case_id: int,
    verdict: Verdict,
    actor: str,
    origin: str,
    note: str | None = None,
) -> CaseView:
    """Close the case: `approve` says the post is fine; `remove`, `timeout` and `ban` that it breaks
    the rules, and queue what the platform's mapping says for that outcome (a kind already run for
    the post runs once only). Raises LookupError / ValueError."""
    view = store.case(case_id)
    if view is None:
        raise LookupError(f"no case {case_id}")
    rules = verdicts.policy.rules_for(view.post.community, view.post.channel)
    facts = warning_facts(view.post.text, view.decision.reasons)
    actions = verdicts.planner.for_verdict(view.post, verdict, rules, facts)
    return store.resolve(case_id, RESOLUTION[verdict], actor, origin, note, actions, verdict)


def answer_appeal(
    store: Store, verdicts: Verdicts, case_id: int, verb: AppealVerb, actor: str, origin: str, answer: str | None = None
) -> CaseView:
    """Uphold the decision or overturn it: an overturn reverses what can be (a timeout lifted, a
    ban removed) and closes the case as approved; either way the user is told. Raises LookupError /
    ValueError."""
    view = store.case(case_id)
    if view is None:
        raise LookupError(f"no case {case_id}")
    done = [a.kind for a in view.actions if a.state == ActionState.DONE]
    overturned = verb == "overturn"
    actions = verdicts.planner.for_appeal(overturned, done, answer)
    state = AppealState.OVERTURNED if overturned else AppealState.UPHELD
    store.answer_appeal(case_id, state, actor, origin, answer, actions)
    answered = store.case(case_id)
    assert answered is not None
    return answered


def open_appeal(store: Store, planner: ActionPlanner, case_id: int, author_id: str, text: str, via: str) -> AppealView:
    """The author's appeal, with its copy for the moderators' channel where the platform has one."""
    view = store.case(case_id)
    if view is None:
        raise LookupError(f"no case {case_id}")
    return store.open_appeal(case_id, author_id, text, via, planner.appeal_alert(view.post.platform))


def escalate_case(store: Store, case_id: int, actor: str, origin: str, note: str | None = None) -> CaseView:
    """Hand the case to senior moderators: it stays in the queue, marked escalated."""
    return store.escalate(case_id, actor, origin, note)


class Desk:
    """The ReviewDesk adapters are given (bot/adapters/base.py): store calls on the runtime's
    database thread (`db`), and the shadow switch both stored (so that `--role worker` processes
    see it) and set on this process's Decider."""

    def __init__(self, store: Store, decider: Decider, db: Callable[..., Awaitable[Any]]) -> None:
        self.store = store
        self.decider = decider
        self.db = db

    async def case(self, case_id: int) -> CaseView | None:
        view: CaseView | None = await self.db(self.store.case, case_id)
        return view

    async def open_cases(self, platform: str, community: str, limit: int) -> list[CaseView]:
        cases: list[CaseView] = await self.db(self.store.cases, WAITING, limit, platform, community)
        return cases

    async def author_record(self, platform: str, community: str, author_id: str) -> dict[str, int]:
        record: dict[str, int] = await self.db(self.store.author_record, platform, community, author_id)
        return record

    async def refused(self, actor: str, case_id: int, verb: str, origin: str) -> None:
        await self.db(self.store.audit, actor, "case.refused", "case", str(case_id), origin, {"verb": verb})

    async def act(self, case_id: int, verb: CaseVerb, actor: str, origin: str) -> CaseView:
        verdicts = Verdicts(self.decider.policy, self.decider.planner)
        view: CaseView
        match verb:
            case "escalate":
                view = await self.db(escalate_case, self.store, case_id, actor, origin)
            case "uphold" | "overturn":
                view = await self.db(answer_appeal, self.store, verdicts, case_id, verb, actor, origin)
            case _:
                view = await self.db(resolve_case, self.store, verdicts, case_id, verb, actor, origin)
        return view

    async def appeal(self, case_id: int, author_id: str, text: str, via: str) -> AppealView:
        appeal: AppealView = await self.db(open_appeal, self.store, self.decider.planner, case_id, author_id, text, via)
        return appeal

    async def set_shadow(self, platform: str, community: str, on: bool, actor: str, origin: str) -> None:
        await self.db(self.store.set_shadow, platform, community, on, actor, origin)
        self.decider.shadow_overrides[(platform, community)] = on

    async def report_missed(
        self, platform: str, community: str, post_id: str, category: str, actor: str, origin: str
    ) -> CaseView:
        found = await self.db(self.store.decisions_for, platform, community, [post_id])
        if post_id not in found:
            raise LookupError("modbot has no decision on this post (it came before modbot read here)")
        view: CaseView = await self.db(self.store.report_missed, found[post_id].id, category, actor, origin, None)
        return view

    async def status(self, platform: str, community: str, since: datetime) -> DeskStatus:
        counts: dict[str, int] = await self.db(self.store.outcome_counts, platform, community, since)
        rules = self.decider.policy.rules_for(community, "")
        override = self.decider.shadow_overrides.get((platform, community))
        shadow = rules.shadow if override is None else override
        return DeskStatus(dict(self.decider.versions), shadow, rules.version, counts)
