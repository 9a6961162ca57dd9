"""The JSON API: the same operations and roles as the pages (state changes need the X-CSRF-Token
header), answered with JSON."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from bot.lab.evaluation.live import audit_store
from bot.storage.records import CaseView, DraftStatus
from bot.web import desk, queries
from bot.web.context import (
    STATE,
    VERDICTS,
    json_body,
    json_error,
    path_id_of,
    session_of,
)
from bot.web.inputs import MAX_NAME, MAX_NOTE, BadInput, case_ids, query_text, text_or_none
from bot.web.openapi import OPENAPI
from bot.web.quality import rule_quality
from moderation.cleaning import clean_text


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)


def _case_json(c: CaseView) -> dict[str, Any]:
    d = c.decision
    return {
        "id": c.id,
        "state": c.state,
        "resolution": c.resolution,
        "assignee": c.assignee,
        "note": c.note,
        "opened_at": c.opened_at.isoformat(),
        "post": {"row": c.post_row, **c.post.to_json()},
        "decision": {
            "outcome": d.outcome.value,
            "scores": d.scores,
            "reasons": [r.to_json() for r in d.reasons],
            "scorer_versions": d.scorer_versions,
            "policy_version": d.policy_version,
            "shadow": d.shadow,
        },
        "actions": [{"kind": a.kind, "state": a.state, "result": a.result} for a in c.actions],
        "appeal": None
        if c.appeal is None
        else {
            "text": c.appeal.text,
            "via": c.appeal.via,
            "state": c.appeal.state,
            "opened_at": c.appeal.opened_at.isoformat(),
            "decided_by": c.appeal.decided_by,
            "answer": c.appeal.answer,
        },
    }


async def api_me(request: web.Request) -> web.Response:
    session = session_of(request)
    return web.json_response({"name": session.moderator.name, "role": session.moderator.role, "csrf": session.csrf})


async def api_cases(request: web.Request) -> web.Response:
    state = request.app[STATE]
    result = await state.db(queries.queue, state.store, desk.queue_filter(request.query))
    return web.json_response(
        {
            "matching": result.matching,
            "counts": result.counts,
            "cases": [{**_row(r), "opened_at": r.opened_at.isoformat()} for r in result.rows],
        }
    )


def _row(r: queries.QueueRow | queries.LogRow) -> dict[str, Any]:
    return {f.name: getattr(r, f.name) for f in dataclasses.fields(r)}


async def api_case(request: web.Request) -> web.Response:
    state = request.app[STATE]
    case = await state.db(state.store.case, path_id_of(request))
    if case is None:
        raise json_error(web.HTTPNotFound, "no such case")
    return web.json_response(_case_json(case))


async def api_resolve(request: web.Request) -> web.Response:
    body = await json_body(request)
    verdict = body.get("verdict")
    if not isinstance(verdict, str):
        raise BadInput(f"verdict must be one of {', '.join(VERDICTS)}")
    view = await desk.verdict(request, path_id_of(request), verdict, text_or_none(body, "note", MAX_NOTE))
    return web.json_response(_case_json(view))


async def api_escalate(request: web.Request) -> web.Response:
    body = await json_body(request)
    view = await desk.escalation(request, path_id_of(request), text_or_none(body, "note", MAX_NOTE))
    return web.json_response(_case_json(view))


async def api_assign(request: web.Request) -> web.Response:
    session = session_of(request)
    state = request.app[STATE]
    body = await json_body(request)
    case_id = path_id_of(request)
    assignee = text_or_none(body, "assignee", MAX_NAME)
    await desk.assign_case(state, case_id, assignee, session, request)
    return web.json_response({"id": case_id, "assignee": assignee})


async def api_bulk(request: web.Request) -> web.Response:
    session = session_of(request)
    state = request.app[STATE]
    body = await json_body(request)
    action, ids = body.get("action"), body.get("cases")
    if action not in ("approve", "remove", "escalate") or not isinstance(ids, list) or not ids:
        raise json_error(web.HTTPBadRequest, "give action (approve|remove|escalate) and cases (a list of ids)")
    results = await desk.bulk_verdicts(state, case_ids(ids), action, session, request)
    return web.json_response({"results": [{"case": i, "result": r} for i, r in results]})


async def api_drafts(request: web.Request) -> web.Response:
    state = request.app[STATE]
    statuses = [clean_text(v[:20]) for v in request.query.getall("status", [])] or [DraftStatus.PROPOSED]
    drafts = await state.db(state.drafts.drafts, statuses, 100)
    return web.json_response(
        {
            "drafts": [
                {
                    "id": d.id,
                    "status": d.status,
                    "trigger": d.trigger,
                    "post_row": d.post_row,
                    "text": d.text,
                    "reasons": list(d.reasons),
                    "citations": list(d.citations),
                }
                for d in drafts
            ]
        }
    )


async def api_draft(request: web.Request) -> web.Response:
    body = await json_body(request)
    verdict, text = body.get("verdict"), text_or_none(body, "text", 20_000) or ""
    if not isinstance(verdict, str):
        raise BadInput("verdict must be approve, edit or reject")
    view = await desk.decide_draft(request, path_id_of(request), verdict, text, text_or_none(body, "note", MAX_NOTE))
    return web.json_response({"id": view.id, "status": view.status, "text": view.text})


async def api_decisions(request: web.Request) -> web.Response:
    state = request.app[STATE]
    rows = await state.db(
        queries.decision_log, state.store, query_text(request.query, "q"), query_text(request.query, "outcome"), 100, 0
    )
    return web.json_response({"decisions": [{**_row(r), "decided_at": r.decided_at.isoformat()} for r in rows]})


async def api_quarantine(request: web.Request) -> web.Response:
    entries, page, total = await desk.quarantined(request.app[STATE], request.query)
    return web.json_response(
        {
            "total": total,
            "page": page,
            "items": [
                {
                    "id": e.id,
                    "at": e.at.isoformat(),
                    "platform": e.item.platform,
                    "source": e.item.source,
                    "position": e.item.position,
                    "reason": e.item.reason,
                    "raw_size": e.raw_size,
                    "raw": e.readable(),
                }
                for e in entries
            ],
        }
    )


async def api_stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    figures = await state.db(queries.stats, state.store, 30)
    figures["identity_audit"] = await state.db(audit_store, state.store, 30)
    figures["per_rule"] = await state.db(rule_quality, state.store, 30)
    return web.json_response(figures)
