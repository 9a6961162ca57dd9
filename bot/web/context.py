"""What every dashboard handler shares: the Dashboard state, the moderator's session, and the
small helpers for answers (rendered pages, JSON errors, redirects) and for reading requests."""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.adapters.base import AppealVerb
from bot.config import WebConfig
from bot.review import Verdicts
from bot.storage.drafts import DraftStore
from bot.storage.gateway import DatabaseThread
from bot.storage.store import Store
from bot.web.accounts import Accounts, Role, WebSession
from bot.web.inputs import path_id
from bot.web.throttle import LoginThrottle, client_address
from moderation.actions import Verdict
from moderation.cleaning import visible_controls
from moderation.links import web_link

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
COOKIE = "modbot_session"
LOGIN_COOKIE = "modbot_login"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
VERDICTS: tuple[Verdict, ...] = ("approve", "remove", "timeout", "ban")
APPEAL_VERBS: tuple[AppealVerb, ...] = ("uphold", "overturn")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_KEY = web.RequestKey("session", WebSession)


class Dashboard:
    """What the handlers share: the store, what verdicts mean, accounts and settings."""

    def __init__(self, store: Store, verdicts: Verdicts, cfg: WebConfig, db: DatabaseThread) -> None:
        self.store = store
        self._db = db
        self.verdicts = verdicts
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
        self.templates.filters["visible"] = visible_controls  # escape codes shown, not passed on

    async def db(self, fn: Callable[..., Any], *args: Any) -> Any:
        """On the process's database thread: the service's, shared with ingest and the outbox."""
        return await self._db(fn, *args)

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


def session_of(request: web.Request) -> WebSession:
    """The moderator's session; the auth middleware has checked the route's role already."""
    session: WebSession = request[SESSION_KEY]
    return session


def refuse_role(request: web.Request, session: WebSession, role: Role) -> web.HTTPException:
    if request.path.startswith("/api/"):
        return json_error(web.HTTPForbidden, f"needs the {role} role")
    return web.HTTPForbidden(text=f"this needs the {role} role; you are {session.moderator.role}")


def json_error(kind: type[web.HTTPException], message: str) -> web.HTTPException:
    return kind(text=json.dumps({"error": message}), content_type="application/json")


def client_of(request: web.Request) -> str:
    proxies = request.app[STATE].cfg.trusted_proxies
    return client_address(request.remote, request.headers.get("X-Forwarded-For"), proxies)


def origin_of(request: web.Request) -> str:
    return f"web {client_of(request)}"


def redirect(to: str) -> web.Response:
    raise web.HTTPSeeOther(to)


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    state = request.app[STATE]
    session = request.get(SESSION_KEY)
    page = state.templates.get_template(template).render(
        me=session.moderator if session else None,
        csrf=session.csrf if session else "",
        static=lambda name: request.app.router["static"].url_for(filename=name),
        **context,
    )
    return web.Response(text=page, content_type="text/html", status=status)


def path_id_of(request: web.Request) -> int:
    try:
        return path_id(request.match_info["id"])
    except LookupError as exc:
        raise (
            json_error(web.HTTPNotFound, str(exc))
            if request.path.startswith("/api/")
            else web.HTTPNotFound(text=str(exc))
        ) from exc


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
        raise json_error(web.HTTPBadRequest, "the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise json_error(web.HTTPBadRequest, "the body must be a JSON object")
    return body
