"""The labeler's XRPC endpoints: `com.atproto.label.subscribeLabels` (WebSocket, seq cursor,
backfill then live), `com.atproto.label.queryLabels`, `com.atproto.moderation.createReport`
(reports users send through their PDS, which become cases, and appeals of a label), and
`org.modbot.label.explain`, which tells a subject's owner why each label is on it.

Callers of the last two prove who they are with an atproto service token (a JWT their PDS signs
with their account key, `aud` this labeler, `lxm` the method), checked against their DID document.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web
from atproto_identity.did.resolvers.base_resolver import AsyncBaseResolver
from atproto_server.auth.jwt import parse_jwt, verify_jwt_async

from bot.labeler.frames import error_frame, labels_frame
from bot.labeler.issuer import atproto_time
from bot.labeler.signing import as_json
from bot.review import open_appeal
from bot.storage.labels import IssuedLabel
from bot.storage.store import Store
from moderation.actions import ActionPlanner

log = logging.getLogger(__name__)
Db = Callable[..., Awaitable[Any]]
EXPLAIN = "org.modbot.label.explain"
REPORT = "com.atproto.moderation.createReport"
REASON_CATEGORY = {
    "spam": "spam",
    "violation": "hate",
    "misleading": "misinformation",
    "sexual": "sexual",
    "rude": "harassment",
    "other": "toxicity",
}
"""The category a user's report opens its case under, by its reason (reasonAppeal opens none)."""
POLL_SECONDS = 0.25


class XrpcError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


class LabelerService:
    """`did()` is the labeler account's DID, known once the Bluesky adapter has logged in."""

    def __init__(
        self,
        store: Store,
        db: Db,
        did: Callable[[], str],
        resolver: AsyncBaseResolver,
        planner: ActionPlanner,
        accepted_reasons: Collection[str],
    ) -> None:
        self.store, self.db, self.did, self.resolver = store, db, did, resolver
        self.planner = planner
        self.accepted = set(accepted_reasons)
        self.stopping = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_xrpc_errors], client_max_size=64 * 1024)
        app.router.add_get("/xrpc/com.atproto.label.subscribeLabels", self.subscribe)
        app.router.add_get("/xrpc/com.atproto.label.queryLabels", self.query)
        app.router.add_post(f"/xrpc/{REPORT}", self.report)
        app.router.add_get(f"/xrpc/{EXPLAIN}", self.explain)
        app.router.add_get("/xrpc/_health", _health)
        app.on_shutdown.append(lambda _: self._stop())
        return app

    async def _stop(self) -> None:
        self.stopping.set()

    async def query(self, request: web.Request) -> web.Response:
        patterns = request.query.getall("uriPatterns", [])
        if not patterns:
            raise XrpcError(400, "InvalidRequest", "uriPatterns is required (a URI, or a prefix ending in *)")
        sources = request.query.getall("sources", []) or None
        limit = _int(request.query.get("limit", "50"), "limit", 1, 250)
        after = _int(request.query.get("cursor", "0"), "cursor", 0, 2**62)
        found = await self.db(self.store.current_labels, patterns, sources, after, limit + 1)
        now = atproto_time(datetime.now(UTC))
        shown = [x for x in found[:limit] if not x.expired(now)]
        body: dict[str, Any] = {"labels": [as_json(x.wire) for x in shown]}
        if len(found) > limit:
            body["cursor"] = str(found[limit - 1].seq)
        return _json(body)

    async def subscribe(self, request: web.Request) -> web.StreamResponse:
        cursor = request.query.get("cursor")
        last = await self.db(self.store.last_label_seq)
        at = last if cursor is None else _int(cursor, "cursor", 0, 2**62)
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        if at > last:
            await ws.send_bytes(error_frame("FutureCursor", f"cursor {at} is ahead of the stream ({last})"))
            await ws.close()
            return ws
        reader = asyncio.create_task(_drain(ws))
        try:
            while not ws.closed and not reader.done() and not self.stopping.is_set():
                batch: list[IssuedLabel] = await self.db(self.store.labels_after, at, 500)
                for label in batch:
                    await ws.send_bytes(labels_frame(label.seq, [label.wire]))
                    at = label.seq
                if not batch:
                    await asyncio.wait([reader], timeout=POLL_SECONDS)
        except ConnectionResetError:
            pass
        finally:
            reader.cancel()
            await ws.close()
        return ws

    async def report(self, request: web.Request) -> web.Response:
        reporter = await self._caller(request, REPORT)
        try:
            body = await request.json()
            reason_type = str(body["reasonType"])
            subject = body["subject"]
            uri = str(subject["uri"])
        except (ValueError, KeyError, TypeError) as exc:
            raise XrpcError(400, "InvalidRequest", f"a report needs reasonType and a record subject ({exc})") from exc
        reason = reason_type.rpartition("#reason")[2].lower()
        if reason not in self.accepted or (reason != "appeal" and reason not in REASON_CATEGORY):
            raise XrpcError(400, "InvalidRequest", f"this labeler does not take reports for {reason_type}")
        text = str(body.get("reason") or "")[:2000]
        case_id = await self._take(reason, uri, reporter, text)
        created = atproto_time(datetime.now(UTC))
        out = {"id": case_id, "reasonType": reason_type, "subject": subject, "reportedBy": reporter}
        return _json(out | {"createdAt": created} | ({"reason": text} if text else {}))

    async def _take(self, reason: str, uri: str, reporter: str, text: str) -> int:
        if reason == "appeal":
            history: list[IssuedLabel] = await self.db(self.store.label_history, uri)
            case_id = next((x.case_id for x in reversed(history) if x.case_id is not None), None)
            if case_id is None:
                found = await self.db(self.store.take_report, "bluesky", uri, "toxicity", reporter, "labeler", None)
                case_id = found[0]
            try:
                await self.db(open_appeal, self.store, self.planner, case_id, reporter, text, "bluesky report")
            except (LookupError, ValueError) as exc:
                raise XrpcError(400, "InvalidRequest", str(exc)) from exc
            return case_id
        category = REASON_CATEGORY[reason]
        try:
            case_id, _ = await self.db(self.store.take_report, "bluesky", uri, category, reporter, "labeler", text)
        except LookupError as exc:
            raise XrpcError(400, "InvalidRequest", f"{exc}: this labeler takes reports on posts it has read") from exc
        return int(case_id)

    async def explain(self, request: web.Request) -> web.Response:
        caller = await self._caller(request, EXPLAIN)
        uri = request.query.get("uri", "")
        owner = uri.removeprefix("at://").split("/", 1)[0]
        if not owner.startswith("did:") or caller != owner:
            raise XrpcError(403, "Forbidden", "only the account a subject belongs to may ask why it is labelled")
        history: list[IssuedLabel] = await self.db(self.store.label_history, uri)
        now = atproto_time(datetime.now(UTC))
        shown = [
            {"val": x.val, "neg": x.neg, "cts": x.cts, "exp": x.exp, "expired": x.expired(now), "reason": x.reason}
            for x in history
        ]
        return _json({"uri": uri, "labels": shown})

    async def _caller(self, request: web.Request, method: str) -> str:
        """The DID whose service token signed this request, for this labeler and this method."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise XrpcError(401, "AuthenticationRequired", "a service token (Authorization: Bearer) is required")
        token = header.removeprefix("Bearer ").strip()
        try:
            payload = await verify_jwt_async(token, self.resolver.resolve_atproto_key)
            claims = json.loads(parse_jwt(token)[0])
        except Exception as exc:  # every way a token can be bad: one answer that says which
            raise XrpcError(401, "InvalidToken", f"the service token was refused: {exc}") from exc
        own = self.did()
        if payload.aud not in (own, f"{own}#atproto_labeler"):
            raise XrpcError(401, "InvalidToken", f"the service token is for {payload.aud}, not this labeler ({own})")
        if claims.get("lxm") not in (None, method):
            raise XrpcError(401, "InvalidToken", f"the service token is for {claims.get('lxm')}, not {method}")
        return str(payload.iss).split("#", 1)[0]


async def _health(_: web.Request) -> web.Response:
    return _json({"version": "modbot"})


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read (and drop) what the client sends, so its close is seen at once."""
    async for message in ws:
        if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
            return


def _int(text: str, name: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise XrpcError(400, "InvalidRequest", f"{name} must be an integer, not {text[:40]!r}") from None
    if not low <= value <= high:
        raise XrpcError(400, "InvalidRequest", f"{name} must be between {low} and {high}")
    return value


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


@web.middleware
async def _xrpc_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
    try:
        return await handler(request)
    except XrpcError as exc:
        return _json({"error": exc.error, "message": exc.message}, exc.status)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("labeler: %s %s failed", request.method, request.path)
        return _json({"error": "InternalServerError", "message": "the labeler failed; see its log"}, 500)
