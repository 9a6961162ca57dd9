"""The review dashboard: server-rendered pages and a JSON API over the same operations.

Every post, handle and display name on these pages is attacker-controlled, so: Jinja autoescaping
everywhere (no `|safe` anywhere), a Content-Security-Policy that allows only the package's own
script and stylesheet, no external assets, CSRF tokens on every state-changing request, a role
check on every route, and every action in the audit log with who, what, when and from where.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import logging
import math
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from bot.config import WebConfig
from bot.evaluation.live import audit_store
from bot.listen import listen
from bot.review import escalate_case, resolve_case
from bot.storage.drafts import DraftStore, DraftVerdict
from bot.storage.store import CaseView, Store
from bot.web import queries
from bot.web.accounts import ROLES, Accounts, LoginRefused, Role, WebSession
from bot.web.inputs import MAX_NAME, MAX_NOTE, BadInput, case_ids, number, path_id, query_text, text_or_none
from bot.web.openapi import OPENAPI
from bot.web.throttle import LoginThrottle, client_address
from moderation.actions import Verdict
from moderation.cleaning import clean_text
from moderation.drafting import length_of
from moderation.links import web_link
from moderation.policy import Policy
from moderation.types import CATEGORIES

log = logging.getLogger(__name__)
access = logging.getLogger("bot.web.access")
"""one line per dashboard request: client, moderator, method, path, status, time"""
HERE = Path(__file__).parent
COOKIE = "modbot_session"
LOGIN_COOKIE = "modbot_login"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
VERDICTS: tuple[Verdict, ...] = ("approve", "remove", "timeout", "ban")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_KEY = web.RequestKey("session", WebSession)


class Dashboard:
    """What the handlers share: the store, the policy (verdicts need it), accounts and settings."""

    def __init__(self, store: Store, policy: Policy, cfg: WebConfig) -> None:
        self.store = store
        self.policy = policy
        self.cfg = cfg
        self.accounts = Accounts(store)
        self.throttle = LoginThrottle(cfg.max_failed_logins, cfg.lockout_minutes * 60.0)
        self.drafts = DraftStore(store)
        self.attempts: dict[str, deque[float]] = {}
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.globals["web_link"] = web_link  # a stored link is a link only if http(s)

    async def db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def act(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A state change: an unknown target is 404, one in the wrong state (closed, decided) 409."""
        try:
            return await self.db(fn, *args)
        except LookupError as exc:
            raise web.HTTPNotFound(text=str(exc)) from exc
        except ValueError as exc:
            raise web.HTTPConflict(text=str(exc)) from exc

    def allow_attempt(self, address: str) -> bool:
        """Sliding one-minute window of login attempts per client address."""
        now = time.monotonic()
        window = self.attempts.setdefault(address, deque())
        while window and window[0] < now - 60:
            window.popleft()
        if len(window) >= self.cfg.login_attempts_per_minute:
            return False
        window.append(now)
        return True


STATE = web.AppKey("state", Dashboard)


def make_app(store: Store, policy: Policy, cfg: WebConfig) -> web.Application:
    app = web.Application(middlewares=[_headers, _auth], client_max_size=256 * 1024)
    app[STATE] = Dashboard(store, policy, cfg)
    app.router.add_static("/static/", HERE / "static", append_version=True, name="static")
    r = app.router
    r.add_get("/login", login_page)
    r.add_post("/login", login)
    r.add_post("/logout", logout)
    r.add_get("/", home)
    r.add_get("/queue", queue_page)
    r.add_post("/cases/bulk", bulk)
    r.add_get("/cases/{id:\\d+}", case_page)
    r.add_post("/cases/{id:\\d+}/resolve", resolve)
    r.add_post("/cases/{id:\\d+}/escalate", escalate)
    r.add_post("/cases/{id:\\d+}/assign", assign)
    r.add_post("/cases/{id:\\d+}/note", note)
    r.add_post("/drafts/{id:\\d+}", draft_action)
    r.add_get("/log", log_page)
    r.add_get("/stats", stats_page)
    r.add_get("/moderators", moderators_page)
    r.add_post("/moderators", moderators_update)
    r.add_get("/api/openapi.json", openapi)
    r.add_get("/api/me", api_me)
    r.add_get("/api/cases", api_cases)
    r.add_get("/api/cases/{id:\\d+}", api_case)
    r.add_post("/api/cases/{id:\\d+}/resolve", api_resolve)
    r.add_post("/api/cases/{id:\\d+}/escalate", api_escalate)
    r.add_post("/api/cases/{id:\\d+}/assign", api_assign)
    r.add_post("/api/cases/bulk", api_bulk)
    r.add_get("/api/drafts", api_drafts)
    r.add_post("/api/drafts/{id:\\d+}", api_draft)
    r.add_get("/api/decisions", api_decisions)
    r.add_get("/api/stats", api_stats)
    return app


# --- middlewares ---------------------------------------------------------------------------------


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    except BadInput as exc:
        api = request.path.startswith("/api/")
        response = _json_error(web.HTTPBadRequest, str(exc)) if api else web.HTTPBadRequest(text=str(exc))
    except Exception:  # a bug: logged with its trace, answered without one and with the headers
        log.exception("%s %s failed", request.method, request.path)
        response = web.HTTPInternalServerError(text="internal error (the service log has the details)")
    response.headers["Server"] = "modbot"  # not aiohttp's name and version
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
        session = request.get(SESSION_KEY)
        who = session.moderator.name if session else "-"
        ms = (time.perf_counter() - started) * 1000
        # the path only: a query string can hold a moderator's search for a user's words
        access.info("%s %s %s %s %d %.0fms", _client(request), who, request.method, request.path, response.status, ms)
    if isinstance(response, web.HTTPException):
        raise response
    return response


PUBLIC = ("/login", "/static/", "/api/openapi.json")


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who is asking (from the session cookie), and the CSRF token on every state change."""
    state = request.app[STATE]
    token = request.cookies.get(COOKIE)
    session = await state.db(state.accounts.session, token) if token else None
    if session is not None:
        request[SESSION_KEY] = session
    if request.path.startswith(PUBLIC):
        return await handler(request)
    if session is None:
        if request.path.startswith("/api/"):
            raise _json_error(web.HTTPUnauthorized, "log in first")
        raise web.HTTPSeeOther("/login")
    if request.method not in ("GET", "HEAD"):
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent and request.content_type == "application/x-www-form-urlencoded":
            sent = str((await request.post()).get("csrf", ""))
        if not hmac.compare_digest(sent, session.csrf):
            await state.db(
                state.store.audit, session.moderator.name, "csrf.refused", "request", request.path, _origin(request), {}
            )
            raise web.HTTPForbidden(text="missing or wrong CSRF token")
    return await handler(request)


def _session(request: web.Request, role: Role = "viewer") -> WebSession:
    session: WebSession = request[SESSION_KEY]
    if not session.moderator.may(role):
        if request.path.startswith("/api/"):
            raise _json_error(web.HTTPForbidden, f"needs the {role} role")
        raise web.HTTPForbidden(text=f"this needs the {role} role; you are {session.moderator.role}")
    return session


def _json_error(kind: type[web.HTTPException], message: str) -> web.HTTPException:
    return kind(text=json.dumps({"error": message}), content_type="application/json")


def _client(request: web.Request) -> str:
    proxies = request.app[STATE].cfg.trusted_proxies
    return client_address(request.remote, request.headers.get("X-Forwarded-For"), proxies)


def _origin(request: web.Request) -> str:
    return f"web {_client(request)}"


def _redirect(to: str) -> web.Response:
    raise web.HTTPSeeOther(to)


def _render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    state = request.app[STATE]
    session = request.get(SESSION_KEY)
    page = state.templates.get_template(template).render(
        me=session.moderator if session else None,
        csrf=session.csrf if session else "",
        static=lambda name: request.app.router["static"].url_for(filename=name),
        **context,
    )
    return web.Response(text=page, content_type="text/html", status=status)


# --- login -----------------------------------------------------------------------------------------


async def home(request: web.Request) -> web.Response:
    return _redirect("/queue")


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)


async def login_page(request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
    """The form, with a token also set as a cookie the browser sends only from this site: a page
    elsewhere cannot post the form and log the browser into an account of its choosing."""
    # kept while the browser has one: a second load of the page (another tab, a prefetch) must
    # not invalidate the form already showing
    kept = request.cookies.get(LOGIN_COOKIE, "")
    token = kept if re.fullmatch(r"[A-Za-z0-9_-]{32}", kept) else secrets.token_urlsafe(24)
    response = _render(request, "login.html", status=status, error=error, login_csrf=token)
    secure = request.app[STATE].cfg.secure_cookies
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, secure=secure, samesite="Strict", path="/login")
    return response


async def login(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form = await request.post()
    address = _client(request)
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
    session = _session(request)
    await state.db(state.accounts.logout, session.token, _origin(request))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


# --- queue and cases ---------------------------------------------------------------------------------


def _path_id(request: web.Request) -> int:
    try:
        return path_id(request.match_info["id"])
    except LookupError as exc:
        raise (
            _json_error(web.HTTPNotFound, str(exc))
            if request.path.startswith("/api/")
            else web.HTTPNotFound(text=str(exc))
        ) from exc


def _queue_filter(query: Any) -> queries.QueueFilter:
    states = tuple(s for s in query.getall("state", []) if s in queries.STATES) or ("open", "escalated")
    sort = query.get("sort", "oldest")
    if sort not in ("oldest", "newest", "score"):
        raise web.HTTPBadRequest(text="sort must be oldest, newest or score")
    page = int(number(query, "page", 1, 100_000) or 1)
    return queries.QueueFilter(
        states=states,
        platform=query_text(query, "platform"),
        community=query_text(query, "community"),
        category=query_text(query, "category"),
        min_score=number(query, "min_score", -1e6, 1e6),
        max_score=number(query, "max_score", -1e6, 1e6),
        assignee=query_text(query, "assignee"),
        max_age_hours=number(query, "max_age_hours", 0, 1_000_000),
        sort=sort,
        offset=(page - 1) * 50,
    )


async def queue_page(request: web.Request) -> web.Response:
    _session(request)
    state = request.app[STATE]
    f = _queue_filter(request.query)
    result = await state.db(queries.queue, state.store, f)
    return _render(
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
    _session(request)
    state = request.app[STATE]
    case_id = _path_id(request)
    case: CaseView | None = await state.db(state.store.case, case_id)
    if case is None:
        raise web.HTTPNotFound(text=f"no case {case_id}")
    rules = state.policy.rules_for(case.post.community, case.post.channel)
    fact_check = None
    for reason in case.decision.reasons:
        if (claim_id := reason.fact_check) is not None:
            fact_check = await state.db(state.store.fact_check, claim_id)
            break
    return _render(
        request,
        "case.html",
        case=case,
        segments=_segments(case.post.text, [(s.start, s.end) for r in case.decision.reasons for s in r.spans]),
        bars=_bars(case.decision.scores, {c: min(t.values()) for c, t in rules.thresholds.items() if t}),
        fact_check=fact_check,
        record=await state.db(state.store.author_record, case.post.platform, case.post.community, case.post.author.id),
        recent=await state.db(queries.author_recent, state.store, case.post_row),
        thread=await state.db(queries.thread, state.store, case.post_row),
        drafts=await state.db(state.drafts.drafts_for_post, case.post_row),
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


async def _verdict(request: web.Request, case_id: int, verdict: str, note: str | None) -> CaseView:
    state = request.app[STATE]
    session = _session(request, "moderator")
    if verdict not in VERDICTS:
        raise web.HTTPBadRequest(text=f"verdict must be one of {', '.join(VERDICTS)}")
    view: CaseView = await state.act(
        resolve_case, state.store, state.policy, case_id, verdict, session.moderator.name, _origin(request), note
    )
    return view


async def resolve(request: web.Request) -> web.Response:
    form = await request.post()
    case_id = _path_id(request)
    await _verdict(request, case_id, str(form.get("verdict", "")), str(form.get("note", "")) or None)
    return _redirect(f"/cases/{case_id}")


async def escalate(request: web.Request) -> web.Response:
    session = _session(request, "moderator")
    state = request.app[STATE]
    case_id = _path_id(request)
    form = await request.post()
    note = str(form.get("note", "")) or None
    await state.act(escalate_case, state.store, case_id, session.moderator.name, _origin(request), note)
    return _redirect(f"/cases/{case_id}")


async def assign(request: web.Request) -> web.Response:
    session = _session(request, "moderator")
    state = request.app[STATE]
    case_id = _path_id(request)
    form = await request.post()
    assignee = str(form.get("assignee", session.moderator.name)) or None
    await _assign(state, case_id, assignee, session, request)
    return _redirect(f"/cases/{case_id}")


async def _assign(
    state: Dashboard, case_id: int, assignee: str | None, session: WebSession, request: web.Request
) -> None:
    if assignee is not None and assignee not in {m.name for m in await state.db(state.accounts.list)}:
        raise BadInput(f"no moderator named {assignee[:MAX_NAME]!r}")
    await state.act(queries.assign, state.store, case_id, assignee, session.moderator.name, _origin(request))


async def note(request: web.Request) -> web.Response:
    session = _session(request, "moderator")
    state = request.app[STATE]
    case_id = _path_id(request)
    form = await request.post()
    text = str(form.get("note", ""))[:4000]
    await state.act(queries.set_note, state.store, case_id, text, session.moderator.name, _origin(request))
    return _redirect(f"/cases/{case_id}")


async def bulk(request: web.Request) -> web.Response:
    """Bulk verdicts take one confirmation: the first post shows what will happen, the second
    (with confirmed=yes) does it."""
    session = _session(request, "moderator")
    state = request.app[STATE]
    form = await request.post()
    action = str(form.get("action", ""))
    given = [str(i) for i in form.getall("case", [])]
    ids = case_ids([int(i) for i in given if i.isascii() and i.isdigit() and len(i) < 20])
    if action not in ("approve", "remove", "escalate") or not ids:
        raise web.HTTPBadRequest(text="choose cases and an action (approve, remove or escalate)")
    if form.get("confirmed") != "yes":
        cases = [c for c in [await state.db(state.store.case, i) for i in ids] if c is not None]
        return _render(request, "confirm.html", action=action, cases=cases)
    results = await _bulk(state, ids, action, session, request)
    return _render(request, "bulk_done.html", action=action, results=results)


async def _bulk(
    state: Dashboard, ids: list[int], action: str, session: WebSession, request: web.Request
) -> list[tuple[int, str]]:
    results = []
    for case_id in ids:
        try:
            if action == "escalate":
                await state.db(escalate_case, state.store, case_id, session.moderator.name, _origin(request), None)
            else:
                await state.db(
                    resolve_case,
                    state.store,
                    state.policy,
                    case_id,
                    action,
                    session.moderator.name,
                    _origin(request),
                    "bulk",
                )
            results.append((case_id, "done"))
        except (LookupError, ValueError) as exc:
            results.append((case_id, str(exc)))
    return results


async def draft_action(request: web.Request) -> web.Response:
    form = await request.post()
    draft_id = _path_id(request)
    verdict = str(form.get("verdict", ""))
    view = await _draft(request, draft_id, verdict, str(form.get("text", "")), str(form.get("note", "")) or None)
    case_id = str(form.get("case", ""))
    return _redirect(f"/cases/{case_id}" if case_id.isdigit() else f"/log?q={view.post.id}")


async def _draft(request: web.Request, draft_id: int, verdict: str, text: str, note: str | None) -> Any:
    session = _session(request, "moderator")
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
    return await state.act(state.drafts.decide, draft_id, dv, session.moderator.name, _origin(request), new_text, note)


# --- log, stats, accounts ---------------------------------------------------------------------------


async def log_page(request: web.Request) -> web.Response:
    _session(request)
    state = request.app[STATE]
    q, outcome = query_text(request.query, "q"), query_text(request.query, "outcome")
    page = int(number(request.query, "page", 1, 100_000) or 1)
    rows = await state.db(queries.decision_log, state.store, q, outcome, 50, (page - 1) * 50)
    return _render(request, "log.html", rows=rows, q=q, outcome=outcome, page=page)


async def stats_page(request: web.Request) -> web.Response:
    _session(request)
    state = request.app[STATE]
    figures = await state.db(queries.stats, state.store, 30)
    audit = await state.db(audit_store, state.store, 30)
    return _render(request, "stats.html", s=figures, audit=audit, volume_chart=_volume_chart(figures["per_day"]))


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
    _session(request, "admin")
    state = request.app[STATE]
    return _render(request, "moderators.html", moderators=await state.db(state.accounts.list), roles=ROLES, error=None)


async def moderators_update(request: web.Request) -> web.Response:
    session = _session(request, "admin")
    state = request.app[STATE]
    form = await request.post()
    name, op = str(form.get("name", "")), str(form.get("op", ""))
    try:
        if op == "add":
            role = str(form.get("role", "viewer"))
            if role not in ROLES:
                raise ValueError("unknown role")
            await state.db(
                state.accounts.add, name, str(form.get("password", "")), role, session.moderator.name, _origin(request)
            )
        elif op in ROLES:
            await state.db(state.accounts.update, name, session.moderator.name, _origin(request), op, None)
        elif op in ("disable", "enable"):
            if name == session.moderator.name:
                raise ValueError("you cannot disable yourself")
            await state.db(state.accounts.update, name, session.moderator.name, _origin(request), None, op == "disable")
        else:
            raise ValueError("unknown operation")
    except (ValueError, LookupError) as exc:
        moderators = await state.db(state.accounts.list)
        return _render(request, "moderators.html", status=400, moderators=moderators, roles=ROLES, error=str(exc))
    return _redirect("/moderators")


# --- JSON API (same operations, same roles; state changes need the X-CSRF-Token header) ---------------


def _case_json(c: CaseView) -> dict[str, Any]:
    d = c.decision
    return {
        "id": c.id,
        "state": c.state,
        "resolution": c.resolution,
        "assignee": c.assignee,
        "note": c.note,
        "opened_at": c.opened_at.isoformat(),
        "post": {
            "row": c.post_row,
            "platform": c.post.platform,
            "community": c.post.community,
            "channel": c.post.channel,
            "id": c.post.id,
            "author": {"id": c.post.author.id, "handle": c.post.author.handle},
            "text": c.post.text,
        },
        "decision": {
            "outcome": d.outcome.value,
            "scores": d.scores,
            "reasons": [r.to_json() for r in d.reasons],
            "scorer_versions": d.scorer_versions,
            "policy_version": d.policy_version,
            "shadow": d.shadow,
        },
        "actions": [{"kind": a.kind, "state": a.state, "result": a.result} for a in c.actions],
    }


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
        raise _json_error(web.HTTPBadRequest, "the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise _json_error(web.HTTPBadRequest, "the body must be a JSON object")
    return body


async def api_me(request: web.Request) -> web.Response:
    session = _session(request)
    return web.json_response({"name": session.moderator.name, "role": session.moderator.role, "csrf": session.csrf})


async def api_cases(request: web.Request) -> web.Response:
    _session(request)
    state = request.app[STATE]
    result = await state.db(queries.queue, state.store, _queue_filter(request.query))
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
    _session(request)
    state = request.app[STATE]
    case = await state.db(state.store.case, _path_id(request))
    if case is None:
        raise _json_error(web.HTTPNotFound, "no such case")
    return web.json_response(_case_json(case))


async def api_resolve(request: web.Request) -> web.Response:
    body = await _json_body(request)
    verdict = body.get("verdict")
    if not isinstance(verdict, str):
        raise BadInput(f"verdict must be one of {', '.join(VERDICTS)}")
    view = await _verdict(request, _path_id(request), verdict, text_or_none(body, "note", MAX_NOTE))
    return web.json_response(_case_json(view))


async def api_escalate(request: web.Request) -> web.Response:
    session = _session(request, "moderator")
    state = request.app[STATE]
    body = await _json_body(request)
    case_id = _path_id(request)
    actor, note = session.moderator.name, text_or_none(body, "note", MAX_NOTE)
    view = await state.act(escalate_case, state.store, case_id, actor, _origin(request), note)
    return web.json_response(_case_json(view))


async def api_assign(request: web.Request) -> web.Response:
    session = _session(request, "moderator")
    state = request.app[STATE]
    body = await _json_body(request)
    case_id = _path_id(request)
    assignee = text_or_none(body, "assignee", MAX_NAME)
    await _assign(state, case_id, assignee, session, request)
    return web.json_response({"id": case_id, "assignee": assignee})


async def api_bulk(request: web.Request) -> web.Response:
    session = _session(request, "moderator")
    state = request.app[STATE]
    body = await _json_body(request)
    action, ids = body.get("action"), body.get("cases")
    if action not in ("approve", "remove", "escalate") or not isinstance(ids, list) or not ids:
        raise _json_error(web.HTTPBadRequest, "give action (approve|remove|escalate) and cases (a list of ids)")
    results = await _bulk(state, case_ids(ids), action, session, request)
    return web.json_response({"results": [{"case": i, "result": r} for i, r in results]})


async def api_drafts(request: web.Request) -> web.Response:
    _session(request)
    state = request.app[STATE]
    statuses = [clean_text(v[:20]) for v in request.query.getall("status", [])] or ["proposed"]
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
    body = await _json_body(request)
    verdict, text = body.get("verdict"), text_or_none(body, "text", 20_000) or ""
    if not isinstance(verdict, str):
        raise BadInput("verdict must be approve, edit or reject")
    view = await _draft(request, _path_id(request), verdict, text, text_or_none(body, "note", MAX_NOTE))
    return web.json_response({"id": view.id, "status": view.status, "text": view.text})


async def api_decisions(request: web.Request) -> web.Response:
    _session(request)
    state = request.app[STATE]
    rows = await state.db(
        queries.decision_log, state.store, query_text(request.query, "q"), query_text(request.query, "outcome"), 100, 0
    )
    return web.json_response({"decisions": [{**_row(r), "decided_at": r.decided_at.isoformat()} for r in rows]})


async def api_stats(request: web.Request) -> web.Response:
    _session(request)
    state = request.app[STATE]
    figures = await state.db(queries.stats, state.store, 30)
    figures["identity_audit"] = await state.db(audit_store, state.store, 30)
    return web.json_response(figures)


async def serve_until_stopped(store: Store, policy: Policy, cfg: WebConfig) -> None:
    """`modbot web`: the dashboard alone, until SIGINT or SIGTERM."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = await listen(make_app(store, policy, cfg), "web", cfg.host, cfg.port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
