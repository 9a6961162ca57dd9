"""The operations pages and the API share, each once: verdicts, assignment, bulk verdicts, draft
verdicts, reading the queue's filter from a query string, and a page of the quarantine."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.review import answer_appeal, escalate_case, resolve_case
from bot.storage.drafts import DraftVerdict
from bot.storage.quarantine import QuarantineEntry, QuarantineStore
from bot.storage.records import WAITING, CaseView
from bot.web import queries
from bot.web.accounts import WebSession
from bot.web.context import (
    APPEAL_VERBS,
    STATE,
    VERDICTS,
    Dashboard,
    origin_of,
    session_of,
)
from bot.web.inputs import MAX_NAME, BadInput, number, query_text
from moderation.drafting import length_of


def queue_filter(query: Any) -> queries.QueueFilter:
    states = tuple(s for s in query.getall("state", []) if s in queries.STATES) or WAITING
    sort = query.get("sort", "oldest")
    if sort not in ("oldest", "newest", "score"):
        raise web.HTTPBadRequest(text="sort must be oldest, newest or score")
    page = int(number(query, "page", 1, 100_000) or 1)
    return queries.QueueFilter(
        states=states,
        platform=query_text(query, "platform"),
        community=query_text(query, "community"),
        category=query_text(query, "category"),
        language=_language(query_text(query, "language")),
        min_score=number(query, "min_score", -1e6, 1e6),
        max_score=number(query, "max_score", -1e6, 1e6),
        assignee=query_text(query, "assignee"),
        max_age_hours=number(query, "max_age_hours", 0, 1_000_000),
        sort=sort,
        offset=(page - 1) * 50,
    )


def _language(value: str) -> str:
    if value and value != "-" and not (len(value) == 2 and value.isascii() and value.isalpha()):
        raise web.HTTPBadRequest(text='language must be an ISO 639-1 code like "de", or "-" for none identified')
    return value.lower()


async def verdict(request: web.Request, case_id: int, verdict: str, note: str | None) -> CaseView:
    state = request.app[STATE]
    session = session_of(request)
    if verdict not in VERDICTS:
        raise web.HTTPBadRequest(text=f"verdict must be one of {', '.join(VERDICTS)}")
    view: CaseView = await state.act(
        resolve_case, state.store, state.verdicts, case_id, verdict, session.moderator.name, origin_of(request), note
    )
    return view


async def appeal_answer(request: web.Request, case_id: int, verb: str, answer: str | None) -> CaseView:
    """Uphold or overturn the case's open appeal; `answer` is said to the user."""
    state = request.app[STATE]
    if verb not in APPEAL_VERBS:
        raise web.HTTPBadRequest(text=f"answer must be one of {', '.join(APPEAL_VERBS)}")
    name, origin = session_of(request).moderator.name, origin_of(request)
    view: CaseView = await state.act(answer_appeal, state.store, state.verdicts, case_id, verb, name, origin, answer)
    return view


async def escalation(request: web.Request, case_id: int, note: str | None) -> CaseView:
    state = request.app[STATE]
    view: CaseView = await state.act(
        escalate_case, state.store, case_id, session_of(request).moderator.name, origin_of(request), note
    )
    return view


async def assign_case(
    state: Dashboard, case_id: int, assignee: str | None, session: WebSession, request: web.Request
) -> None:
    if assignee is not None and assignee not in {m.name for m in await state.db(state.accounts.list)}:
        raise BadInput(f"no moderator named {assignee[:MAX_NAME]!r}")
    await state.act(queries.assign, state.store, case_id, assignee, session.moderator.name, origin_of(request))


async def bulk_verdicts(
    state: Dashboard, ids: list[int], action: str, session: WebSession, request: web.Request
) -> list[tuple[int, str]]:
    results = []
    for case_id in ids:
        try:
            if action == "escalate":
                await state.db(escalate_case, state.store, case_id, session.moderator.name, origin_of(request), None)
            else:
                await state.db(
                    resolve_case,
                    state.store,
                    state.verdicts,
                    case_id,
                    action,
                    session.moderator.name,
                    origin_of(request),
                    "bulk",
                )
            results.append((case_id, "done"))
        except (LookupError, ValueError) as exc:
            results.append((case_id, str(exc)))
    return results


async def decide_draft(request: web.Request, draft_id: int, verdict: str, text: str, note: str | None) -> Any:
    session = session_of(request)
    state = request.app[STATE]
    if verdict not in ("approve", "edit", "reject"):
        raise web.HTTPBadRequest(text="verdict must be approve, edit or reject")
    current = await state.db(state.drafts.draft, draft_id)
    if current is None:
        raise web.HTTPNotFound(text=f"no draft {draft_id}")
    if verdict == "edit":
        size, limit, unit = length_of(text, current.post.platform)
        if size > limit:
            raise web.HTTPBadRequest(text=f"the edited text is {size} {unit}; {current.post.platform} takes {limit}")
        if text == current.text:
            verdict = "approve"
    dv: DraftVerdict = verdict  # type: ignore[assignment]
    new_text = text if verdict == "edit" else None
    return await state.act(
        state.drafts.decide, draft_id, dv, session.moderator.name, origin_of(request), new_text, note
    )


QUARANTINE_PAGE = 50


async def quarantined(state: Dashboard, query: Any) -> tuple[list[QuarantineEntry], int, int]:
    """A page of quarantined input, newest first (`platform` filters), with the page number and
    how many items the quarantine holds in all."""
    page = int(number(query, "page", 1, 100_000) or 1)
    store = QuarantineStore(state.store)
    platform = query_text(query, "platform", 32) or None
    entries = await state.db(store.latest, QUARANTINE_PAGE, platform, (page - 1) * QUARANTINE_PAGE)
    return entries, page, await state.db(store.count)
