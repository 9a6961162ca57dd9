"""The dashboard's pages: login, the queue, a case, the log, stats and accounts; forms post back
here and are answered with a redirect or a page."""

from __future__ import annotations

import hmac
import logging
import math
import re
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.lab.evaluation.live import audit_store
from bot.storage.records import CaseView
from bot.web import desk, queries
from bot.web.accounts import ROLES, LoginRefused
from bot.web.context import (
    COOKIE,
    LOGIN_COOKIE,
    STATE,
    VERDICTS,
    client_of,
    origin_of,
    path_id_of,
    redirect,
    render,
    session_of,
)
from bot.web.inputs import BadInput, case_ids, number, query_text
from bot.web.quality import rule_quality
from moderation.types import CATEGORIES

log = logging.getLogger(__name__)


async def home(request: web.Request) -> web.Response:
    return redirect("/queue")


async def login_page(request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
    """The form, with a token also set as a cookie the browser sends only from this site: a page
    elsewhere cannot post the form and log the browser into an account of its choosing."""
    # kept while the browser has one: a second load of the page (another tab, a prefetch) must
    # not invalidate the form already showing
    kept = request.cookies.get(LOGIN_COOKIE, "")
    token = kept if re.fullmatch(r"[A-Za-z0-9_-]{32}", kept) else secrets.token_urlsafe(24)
    response = render(request, "login.html", status=status, error=error, login_csrf=token)
    secure = request.app[STATE].cfg.secure_cookies
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, secure=secure, samesite="Strict", path="/login")
    return response


async def login(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form = await request.post()
    address = client_of(request)
    sent, expected = str(form.get("login_csrf", "")), request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(sent, expected):
        return await login_page(request, "the login form did not come from this site or has expired; try again", 400)
    if not state.allow_attempt(address):
        return await login_page(request, "too many login attempts; wait a minute", 429)
    name, now = str(form.get("name", "")), time.monotonic()
    if (wait := state.throttle.wait(name, address, now)) > 0:
        return await login_page(request, f"too many failed logins; try again in {math.ceil(wait)} s", 429)
    try:
        session = await state.db(
            state.accounts.login, name, str(form.get("password", "")), address, state.cfg.session_hours
        )
    except LoginRefused as exc:
        if (delay := state.throttle.failed(name, address, now)) > 0:
            log.warning(
                "dashboard: repeated failed logins for %r from %s; that address waits %.0f s", name, address, delay
            )
            details = {"wait_seconds": delay}
            origin = f"web {address}"
            await state.db(state.store.audit, name[:100], "login.throttled", "moderator", name[:100], origin, details)
        return await login_page(request, str(exc), 401)
    state.throttle.succeeded(name, address)
    response = web.HTTPSeeOther("/queue")
    response.set_cookie(
        COOKIE,
        session.token,
        httponly=True,
        secure=state.cfg.secure_cookies,
        samesite="Strict",
        max_age=state.cfg.session_hours * 3600,
        path="/",
    )
    raise response


async def logout(request: web.Request) -> web.Response:
    state = request.app[STATE]
    session = session_of(request)
    await state.db(state.accounts.logout, session.token, origin_of(request))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


async def queue_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    f = desk.queue_filter(request.query)
    result = await state.db(queries.queue, state.store, f)
    return render(
        request,
        "queue.html",
        q=result,
        f=f,
        query=request.query,
        page=f.offset // 50 + 1,
        query_string=_page_query,
        platforms=queries.PLATFORMS,
        categories=CATEGORIES,
    )


def _page_query(query: Any, page: int) -> str:
    return urlencode([(k, v) for k, v in query.items() if k != "page"] + [("page", str(page))])


async def case_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    case_id = path_id_of(request)
    case: CaseView | None = await state.db(state.store.case, case_id)
    if case is None:
        raise web.HTTPNotFound(text=f"no case {case_id}")
    rules = state.verdicts.policy.rules_for(case.post.community, case.post.channel)
    fact_check = None
    for reason in case.decision.reasons:
        if (claim_id := reason.fact_check) is not None:
            fact_check = await state.db(state.store.fact_check, claim_id)
            break
    return render(
        request,
        "case.html",
        case=case,
        segments=_segments(case.post.text, [(s.start, s.end) for r in case.decision.reasons for s in r.spans]),
        bars=_bars(case.decision.scores, {c: min(t.values()) for c, t in rules.thresholds.items() if t}),
        fact_check=fact_check,
        record=await state.db(state.store.author_record, case.post.platform, case.post.community, case.post.author.id),
        recent=await state.db(queries.author_recent, state.store, case.post_row),
        thread=await state.db(queries.thread, state.store, case.post_row),
        revisions=await state.db(queries.revisions, state.store, case.post_row),
        drafts=await state.db(state.drafts.drafts_for_post, case.post_row),
        labels=await state.db(state.store.labels_of_case, case_id),
        next_case=await state.db(queries.next_open, state.store, case_id),
        verdicts=VERDICTS,
    )


def _segments(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """The raw text cut into (piece, is_evidence); the template escapes every piece."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for start, end in sorted(set(spans)):
        start = max(start, pos)
        if start >= end:
            continue
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def _bars(scores: dict[str, float], thresholds: dict[str, float]) -> list[dict[str, Any]]:
    return [
        {"category": c, "score": s, "threshold": thresholds.get(c), "over": s >= thresholds.get(c, 2.0)}
        for c, s in sorted(scores.items(), key=lambda kv: -kv[1])
    ]


async def resolve(request: web.Request) -> web.Response:
    form = await request.post()
    case_id = path_id_of(request)
    await desk.verdict(request, case_id, str(form.get("verdict", "")), str(form.get("note", "")) or None)
    return redirect(f"/cases/{case_id}")


async def appeal(request: web.Request) -> web.Response:
    form = await request.post()
    case_id = path_id_of(request)
    await desk.appeal_answer(request, case_id, str(form.get("verdict", "")), str(form.get("note", "")) or None)
    return redirect(f"/cases/{case_id}")


async def escalate(request: web.Request) -> web.Response:
    case_id = path_id_of(request)
    form = await request.post()
    await desk.escalation(request, case_id, str(form.get("note", "")) or None)
    return redirect(f"/cases/{case_id}")


async def assign(request: web.Request) -> web.Response:
    session = session_of(request)
    state = request.app[STATE]
    case_id = path_id_of(request)
    form = await request.post()
    assignee = str(form.get("assignee", session.moderator.name)) or None
    await desk.assign_case(state, case_id, assignee, session, request)
    return redirect(f"/cases/{case_id}")


async def note(request: web.Request) -> web.Response:
    session = session_of(request)
    state = request.app[STATE]
    case_id = path_id_of(request)
    form = await request.post()
    text = str(form.get("note", ""))[:4000]
    await state.act(queries.set_note, state.store, case_id, text, session.moderator.name, origin_of(request))
    return redirect(f"/cases/{case_id}")


async def bulk(request: web.Request) -> web.Response:
    """Bulk verdicts take one confirmation: the first post shows what will happen, the second
    (with confirmed=yes) does it."""
    session = session_of(request)
    state = request.app[STATE]
    form = await request.post()
    action = str(form.get("action", ""))
    given = [str(i) for i in form.getall("case", [])]
    ids = case_ids([int(i) for i in given if i.isascii() and i.isdigit() and len(i) < 20])
    if action not in ("approve", "remove", "escalate") or not ids:
        raise web.HTTPBadRequest(text="choose cases and an action (approve, remove or escalate)")
    if form.get("confirmed") != "yes":
        cases = [c for c in [await state.db(state.store.case, i) for i in ids] if c is not None]
        return render(request, "confirm.html", action=action, cases=cases)
    results = await desk.bulk_verdicts(state, ids, action, session, request)
    return render(request, "bulk_done.html", action=action, results=results)


async def draft_action(request: web.Request) -> web.Response:
    form = await request.post()
    draft_id = path_id_of(request)
    verdict = str(form.get("verdict", ""))
    view = await desk.decide_draft(
        request, draft_id, verdict, str(form.get("text", "")), str(form.get("note", "")) or None
    )
    case_id = str(form.get("case", ""))
    return redirect(f"/cases/{case_id}" if case_id.isdigit() else f"/log?q={view.post.id}")


async def log_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    q, outcome = query_text(request.query, "q"), query_text(request.query, "outcome")
    page = int(number(request.query, "page", 1, 100_000) or 1)
    rows = await state.db(queries.decision_log, state.store, q, outcome, 50, (page - 1) * 50)
    return render(request, "log.html", rows=rows, q=q, outcome=outcome, page=page, categories=CATEGORIES)


async def report_missed(request: web.Request) -> web.Response:
    """ "Should have been flagged" on a logged post: a case opens for it, marked as this
    moderator's report, and goes through the queue like any flag."""
    state = request.app[STATE]
    decision_id = path_id_of(request)
    form = await request.post()
    category = str(form.get("category", ""))
    if category not in CATEGORIES:
        raise BadInput(f"unknown category {category[:40]!r}; one of {', '.join(CATEGORIES)}")
    note = str(form.get("note", ""))[:4000] or None
    actor = session_of(request).moderator.name
    view = await state.act(state.store.report_missed, decision_id, category, actor, origin_of(request), note)
    return redirect(f"/cases/{view.id}")


async def quarantine_page(request: web.Request) -> web.Response:
    entries, page, total = await desk.quarantined(request.app[STATE], request.query)
    platform = query_text(request.query, "platform", 32)
    return render(
        request,
        "quarantine.html",
        entries=entries,
        page=page,
        total=total,
        platform=platform,
        per_page=desk.QUARANTINE_PAGE,
    )


async def stats_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    figures = await state.db(queries.stats, state.store, 30)
    audit = await state.db(audit_store, state.store, 30)
    rules = await state.db(rule_quality, state.store, 30)
    chart = _volume_chart(figures["per_day"])
    return render(request, "stats.html", s=figures, audit=audit, rules=rules, volume_chart=chart)


def _volume_chart(per_day: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Stacked bars per day, as plain numbers for the SVG template."""
    outcomes = sorted({o for d in per_day.values() for o in d})
    peak = max((sum(d.values()) for d in per_day.values()), default=0) or 1
    days = []
    for i, (day, counts) in enumerate(per_day.items()):
        y = 100.0
        stack = []
        for o in outcomes:
            h = 100.0 * counts.get(o, 0) / peak
            y -= h
            stack.append({"outcome": o, "y": y, "h": h, "n": counts.get(o, 0)})
        days.append({"day": day, "x": i * 22, "stack": stack, "total": sum(counts.values())})
    return {"days": days, "outcomes": outcomes, "width": max(22 * len(days), 22), "peak": peak}


async def moderators_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return render(request, "moderators.html", moderators=await state.db(state.accounts.list), roles=ROLES, error=None)


async def moderators_update(request: web.Request) -> web.Response:
    session = session_of(request)
    state = request.app[STATE]
    form = await request.post()
    name, op = str(form.get("name", "")), str(form.get("op", ""))
    try:
        if op == "add":
            role = str(form.get("role", "viewer"))
            if role not in ROLES:
                raise ValueError("unknown role")
            await state.db(
                state.accounts.add,
                name,
                str(form.get("password", "")),
                role,
                session.moderator.name,
                origin_of(request),
            )
        elif op in ROLES:
            await state.db(state.accounts.update, name, session.moderator.name, origin_of(request), op, None)
        elif op in ("disable", "enable"):
            if name == session.moderator.name:
                raise ValueError("you cannot disable yourself")
            await state.db(
                state.accounts.update, name, session.moderator.name, origin_of(request), None, op == "disable"
            )
        else:
            raise ValueError("unknown operation")
    except (ValueError, LookupError) as exc:
        moderators = await state.db(state.accounts.list)
        return render(request, "moderators.html", status=400, moderators=moderators, roles=ROLES, error=str(exc))
    return redirect("/moderators")
