"""The JSON API's OpenAPI document, served at /api/openapi.json. Authentication is the dashboard's
session cookie (log in at /login); every POST also needs the session's CSRF token in the
X-CSRF-Token header (GET /api/me returns it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_ERROR = {"description": "error", "content": {"application/json": {"schema": {"type": "object"}}}}
_JSON = {"content": {"application/json": {"schema": {"type": "object"}}}}


def _op(summary: str, role: str, body: dict[str, Any] | None = None, params: Sequence[str] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Needs the {role} role.",
        "responses": {"200": {"description": "ok", **_JSON}, "401": _ERROR, "403": _ERROR},
    }
    if params:
        op["parameters"] = [{"name": p, "in": "query", "required": False, "schema": {"type": "string"}} for p in params]
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        op["parameters"] = [
            *op.get("parameters", []),
            {"name": "X-CSRF-Token", "in": "header", "required": True, "schema": {"type": "string"}},
        ]
        op["responses"]["409"] = _ERROR
    return op


_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]


def _with_id(op: dict[str, Any]) -> dict[str, Any]:
    return {**op, "parameters": [*_ID, *op.get("parameters", [])]}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "modbot dashboard API", "version": "1"},
    "components": {
        "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "modbot_session"}},
    },
    "security": [{"session": []}],
    "paths": {
        "/api/me": {"get": _op("who is logged in, with the CSRF token for POSTs", "viewer")},
        "/api/cases": {
            "get": _op(
                "open cases, filtered and sorted (state may repeat)",
                "viewer",
                params=[
                    "state",
                    "platform",
                    "community",
                    "category",
                    "language",
                    "min_score",
                    "max_score",
                    "assignee",
                    "max_age_hours",
                    "sort",
                    "page",
                ],
            )
        },
        "/api/cases/{id}": {"get": _with_id(_op("one case: post, decision with reasons, actions", "viewer"))},
        "/api/cases/{id}/resolve": {
            "post": _with_id(
                _op(
                    "close a case with a verdict",
                    "moderator",
                    {
                        "type": "object",
                        "required": ["verdict"],
                        "properties": {
                            "verdict": {"enum": ["approve", "remove", "timeout", "ban"]},
                            "note": {"type": "string"},
                        },
                    },
                )
            )
        },
        "/api/cases/{id}/escalate": {
            "post": _with_id(
                _op("escalate a case", "moderator", {"type": "object", "properties": {"note": {"type": "string"}}})
            )
        },
        "/api/cases/{id}/assign": {
            "post": _with_id(
                _op(
                    "assign a case (null assignee: unassign)",
                    "moderator",
                    {"type": "object", "properties": {"assignee": {"type": ["string", "null"]}}},
                )
            )
        },
        "/api/cases/bulk": {
            "post": _op(
                "one action on several cases",
                "moderator",
                {
                    "type": "object",
                    "required": ["action", "cases"],
                    "properties": {
                        "action": {"enum": ["approve", "remove", "escalate"]},
                        "cases": {"type": "array", "items": {"type": "integer"}},
                    },
                },
            )
        },
        "/api/drafts": {"get": _op("reply drafts (status may repeat; default proposed)", "viewer", params=["status"])},
        "/api/drafts/{id}": {
            "post": _with_id(
                _op(
                    "approve, edit (and send) or reject a proposed draft",
                    "moderator",
                    {
                        "type": "object",
                        "required": ["verdict"],
                        "properties": {
                            "verdict": {"enum": ["approve", "edit", "reject"]},
                            "text": {"type": "string"},
                            "note": {"type": "string"},
                        },
                    },
                )
            )
        },
        "/api/decisions": {"get": _op("the decision log, newest first", "viewer", params=["q", "outcome"])},
        "/api/stats": {
            "get": _op(
                "volume, flag and override rates, time to resolution, identity audit, "
                "quality per scorer and category with weekly drift",
                "viewer",
            )
        },
        "/api/quarantine": {
            "get": _op(
                "input that could not become a post, newest first, 50 a page, raw bytes with controls as codes",
                "moderator",
                params=["platform", "page"],
            )
        },
    },
}
