"""The review dashboard: server-rendered pages and a JSON API over the same operations.

Every post, handle and display name on these pages is attacker-controlled, so: Jinja autoescaping
everywhere (no `|safe` anywhere), a Content-Security-Policy that allows only the package's own
script and stylesheet, no external assets, CSRF tokens on every state-changing request, a role
check on every route, and every action in the audit log with who, what, when and from where.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time

from aiohttp import web

from bot.config import WebConfig
from bot.review import Verdicts
from bot.runtime.listen import listen
from bot.storage.gateway import DatabaseThread
from bot.storage.store import Store
from bot.web.accounts import Role
from bot.web.context import (
    COOKIE,
    CSP,
    HERE,
    SESSION_KEY,
    STATE,
    Dashboard,
    Handler,
    client_of,
    json_error,
    origin_of,
    refuse_role,
)
from bot.web.inputs import BadInput
from bot.web.routes import ROUTES

log = logging.getLogger(__name__)
ROLE_OF = web.AppKey("role_of", dict[Handler, Role | None])
"""the role each handler needs, from the route table (each handler serves one route)"""
access = logging.getLogger("bot.web.access")
"""one line per dashboard request: client, moderator, method, path, status, time"""


def make_app(store: Store, verdicts: Verdicts, cfg: WebConfig, db: DatabaseThread | None = None) -> web.Application:
    """The dashboard; its database calls run on `db` (the service's thread), or on a thread of its
    own that closes with the app."""
    app = web.Application(middlewares=[_headers, _auth], client_max_size=256 * 1024)
    if db is None:
        db = own = DatabaseThread()

        async def close(_: web.Application) -> None:
            own.close()

        app.on_cleanup.append(close)
    app[STATE] = Dashboard(store, verdicts, cfg, db)
    app[ROLE_OF] = {route.handler: route.role for route in ROUTES}
    app.router.add_static("/static/", HERE / "static", append_version=True, name="static")
    for route in ROUTES:
        if route.method == "GET":
            app.router.add_get(route.path, route.handler)  # and HEAD
        else:
            app.router.add_route(route.method, route.path, route.handler)
    return app


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    except BadInput as exc:
        api = request.path.startswith("/api/")
        response = json_error(web.HTTPBadRequest, str(exc)) if api else web.HTTPBadRequest(text=str(exc))
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
        access.info("%s %s %s %s %d %.0fms", client_of(request), who, request.method, request.path, response.status, ms)
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who is asking (from the session cookie), the CSRF token on every state change, and the role
    the route table gives the route (a path no route matches needs a login, then answers 404)."""
    state = request.app[STATE]
    token = request.cookies.get(COOKIE)
    session = await state.db(state.accounts.session, token) if token else None
    if session is not None:
        request[SESSION_KEY] = session
    role = request.app[ROLE_OF].get(request.match_info.handler, "viewer")
    if role is None or request.path.startswith("/static/"):
        return await handler(request)
    if session is None:
        if request.path.startswith("/api/"):
            raise json_error(web.HTTPUnauthorized, "log in first")
        raise web.HTTPSeeOther("/login")
    if request.method not in ("GET", "HEAD"):
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent and request.content_type == "application/x-www-form-urlencoded":
            sent = str((await request.post()).get("csrf", ""))
        if not hmac.compare_digest(sent, session.csrf):
            await state.db(
                state.store.audit,
                session.moderator.name,
                "csrf.refused",
                "request",
                request.path,
                origin_of(request),
                {},
            )
            raise web.HTTPForbidden(text="missing or wrong CSRF token")
    if not session.moderator.may(role):
        raise refuse_role(request, session, role)
    return await handler(request)


async def serve_until_stopped(store: Store, verdicts: Verdicts, cfg: WebConfig) -> None:
    """`modbot web`: the dashboard alone, until SIGINT or SIGTERM."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = await listen(make_app(store, verdicts, cfg), "web", cfg.host, cfg.port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
