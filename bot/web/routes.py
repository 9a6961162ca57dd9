"""Every dashboard route with the role it needs, in one table: the auth middleware enforces the
role, so no handler checks it by hand (and a new route cannot forget to)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.web import api, calibration, labels, outbox, pages
from bot.web.accounts import Role
from bot.web.context import Handler


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler
    role: Role | None
    """None: served without a login (the login form and the API description)"""


CASE = "{id:\\d+}"
ROUTES: tuple[Route, ...] = (
    Route("GET", "/login", pages.login_page, None),
    Route("POST", "/login", pages.login, None),
    Route("POST", "/logout", pages.logout, "viewer"),
    Route("GET", "/", pages.home, "viewer"),
    Route("GET", "/queue", pages.queue_page, "viewer"),
    Route("POST", "/cases/bulk", pages.bulk, "moderator"),
    Route("GET", f"/cases/{CASE}", pages.case_page, "viewer"),
    Route("POST", f"/cases/{CASE}/resolve", pages.resolve, "moderator"),
    Route("POST", f"/cases/{CASE}/escalate", pages.escalate, "moderator"),
    Route("POST", f"/cases/{CASE}/appeal", pages.appeal, "moderator"),
    Route("POST", f"/cases/{CASE}/assign", pages.assign, "moderator"),
    Route("POST", f"/cases/{CASE}/note", pages.note, "moderator"),
    Route("POST", f"/drafts/{CASE}", pages.draft_action, "moderator"),
    Route("GET", "/log", pages.log_page, "viewer"),
    Route("POST", f"/log/{CASE}/missed", pages.report_missed, "moderator"),
    Route("GET", "/stats", pages.stats_page, "viewer"),
    Route("GET", "/labels", labels.labels_page, "viewer"),
    Route("GET", "/calibration", calibration.calibration_page, "moderator"),
    Route("POST", "/calibration/accept", calibration.accept, "admin"),
    Route("POST", f"/calibration/{CASE}/revert", calibration.revert, "admin"),
    Route("GET", "/quarantine", pages.quarantine_page, "moderator"),
    Route("GET", "/actions", outbox.actions_page, "moderator"),
    Route("POST", "/actions/retry", outbox.retry, "moderator"),
    Route("GET", "/moderators", pages.moderators_page, "admin"),
    Route("POST", "/moderators", pages.moderators_update, "admin"),
    Route("GET", "/api/openapi.json", api.openapi, None),
    Route("GET", "/api/me", api.api_me, "viewer"),
    Route("GET", "/api/cases", api.api_cases, "viewer"),
    Route("GET", f"/api/cases/{CASE}", api.api_case, "viewer"),
    Route("POST", f"/api/cases/{CASE}/resolve", api.api_resolve, "moderator"),
    Route("POST", f"/api/cases/{CASE}/escalate", api.api_escalate, "moderator"),
    Route("POST", f"/api/cases/{CASE}/assign", api.api_assign, "moderator"),
    Route("POST", "/api/cases/bulk", api.api_bulk, "moderator"),
    Route("GET", "/api/drafts", api.api_drafts, "viewer"),
    Route("POST", f"/api/drafts/{CASE}", api.api_draft, "moderator"),
    Route("GET", "/api/decisions", api.api_decisions, "viewer"),
    Route("GET", "/api/stats", api.api_stats, "viewer"),
    Route("GET", "/api/quarantine", api.api_quarantine, "moderator"),
)
