"""A protocol-level fake of Discord: the gateway (a real websocket) and the REST API (real HTTP),
on 127.0.0.1, for driving the unmodified discord.py client in tests.

It keeps just enough state to answer what the moderation flow uses: guilds with roles, channels
and members; messages; timeouts and bans; interactions and their callbacks. Every REST call is
recorded, bot-side rate limits can be switched on (429 + X-RateLimit headers), and the gateway
can be told to reconnect or drop mid-stream; dispatches sent while the client is away are replayed
on RESUME, as Discord does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.gateway_frames import FramedSocket, GatewayKind

_COMMAND_DEFAULTS = {
    "description": "",
    "type": 1,
    "dm_permission": True,
    "nsfw": False,
    "default_member_permissions": None,
}


_DISCORD_EPOCH_MS = 1_420_070_400_000
_last_id = 0


def snowflake() -> str:
    """An id that dates itself as Discord's do (milliseconds since 2015 above bit 22), rising."""
    global _last_id
    _last_id = max(_last_id + 1, (int(time.time() * 1000) - _DISCORD_EPOCH_MS) << 22)
    return str(_last_id)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def user_payload(uid: str, name: str, bot: bool = False) -> dict[str, Any]:
    return {
        "id": uid,
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


@dataclass
class RateLimit:
    """A bucket: `limit` requests per `window` seconds on matching routes, then 429s."""

    limit: int = 5
    window: float = 0.25
    announce: bool = True
    """Send X-RateLimit-* headers on successes. Without them the client learns only from 429s."""
    hits: dict[str, list[float]] = field(default_factory=dict)
    rejected: int = 0


@dataclass
class Call:
    method: str
    path: str
    body: Any
    status: int


class FakeDiscord:
    def __init__(self) -> None:
        self.app_id = snowflake()
        self.bot_user = user_payload(snowflake(), "modbot", bot=True)
        self.token = "fake-token"
        self.guilds: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.members: dict[tuple[str, str], dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {self.bot_user["id"]: self.bot_user}
        self.messages: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        self.bans: dict[tuple[str, str], dict[str, Any]] = {}
        self.kicks: list[tuple[str, str]] = []
        self.dm_closed: set[str] = set()
        self.dms: dict[str, str] = {}  # dm channel id -> user id
        self.callbacks: dict[str, dict[str, Any]] = {}
        self._interaction_message: dict[str, str] = {}
        self._interaction_channel: dict[str, str] = {}
        """interaction id -> the channel it came from (where its answer is shown)"""
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[Call] = []
        self.rate_limit: RateLimit | None = None
        self.identify_count = 0
        self.refuse_resume = False
        """When set, the next RESUME gets op 9 (session invalid): the client must IDENTIFY again."""
        self.resume_count = 0
        self.refuse_commands = False
        """When set, slash-command registration is refused (a bot invited without the scope)."""
        self.lose_responses = 0
        """The next this many message sends are posted and then answered 503, as a proxy answers
        when the response is lost on the way back (discord.py retries 502 itself, with the same
        payload; a 503 reaches the caller, whose retry is a new send)."""
        self._nonces: dict[str, dict[str, Any]] = {}
        self.gateway_open = asyncio.Event()
        """Cleared, the gateway keeps new connections waiting (a gateway that is down)."""
        self.gateway_open.set()
        self.intents: int | None = None
        self.gateway_kind = GatewayKind()
        """What compression the gateway offers (Discord's by default)."""
        self.gateway_query: dict[str, str] = {}
        """The query string of the last gateway connection."""
        self.identify_compress: object = None
        # gateway session
        self._ws: FramedSocket | None = None
        self._session_id: str | None = None
        self._seq = 0
        self._log: list[dict[str, Any]] = []
        self._ready = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def wait_ready(self, timeout: float = 30) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    # --- world building -------------------------------------------------------------------------

    def add_guild(self, name: str, bot_permissions: int) -> str:
        gid = snowflake()
        bot_role = snowflake()
        self.guilds[gid] = {
            "id": gid,
            "name": name,
            "owner_id": snowflake(),
            "member_count": 0,
            "emojis": [],
            "stickers": [],
            "features": [],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "unavailable": False,
            "joined_at": now_iso(),
            "preferred_locale": "en-US",
            "roles": [
                self._role(gid, "@everyone", 1024 | 2048 | 65536, 0),
                self._role(bot_role, "modbot", bot_permissions, 1),
            ],
        }
        self.add_member(gid, self.bot_user["id"], "modbot", roles=[bot_role])
        return gid

    def bot_may(self, gid: str, permission: int) -> bool:
        """Whether the bot's roles in the guild grant the permission bit (Administrator grants all)."""
        mine = set(self.members[(gid, self.bot_user["id"])]["roles"])
        granted = 0
        for role in self.guilds[gid]["roles"]:
            if role["id"] in mine or role["name"] == "@everyone":
                granted |= int(role["permissions"])
        return bool(granted & (permission | 1 << 3))

    async def grant(self, gid: str, permission: int) -> None:
        """An admin gives the bot's role a permission; the gateway says so."""
        role = next(r for r in self.guilds[gid]["roles"] if r["name"] == "modbot")
        role["permissions"] = str(int(role["permissions"]) | permission)
        await self.dispatch("GUILD_ROLE_UPDATE", {"guild_id": gid, "role": role})

    def _refused(self, gid: str, permission: int) -> web.Response | None:
        if self.bot_may(gid, permission):
            return None
        return self._json({"message": "Missing Permissions", "code": 50013}, 403)

    @staticmethod
    def _role(rid: str, name: str, permissions: int, position: int) -> dict[str, Any]:
        return {
            "id": rid,
            "name": name,
            "permissions": str(permissions),
            "position": position,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    def add_role(self, gid: str, name: str, permissions: int = 0) -> str:
        rid = snowflake()
        self.guilds[gid]["roles"].append(self._role(rid, name, permissions, len(self.guilds[gid]["roles"])))
        return rid

    def add_channel(self, gid: str, name: str) -> str:
        cid = snowflake()
        self.channels[cid] = {
            "id": cid,
            "type": 0,
            "guild_id": gid,
            "name": name,
            "position": len(self.channels),
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        return cid

    def add_member(
        self, gid: str, uid: str, name: str, roles: list[str] | None = None, joined_at: str | None = None
    ) -> dict[str, Any]:
        self.users.setdefault(uid, user_payload(uid, name))
        member = {
            "user": self.users[uid],
            "roles": roles or [],
            "joined_at": joined_at or now_iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "communication_disabled_until": None,
        }
        self.members[(gid, uid)] = member
        self.guilds[gid]["member_count"] = sum(1 for g, _ in self.members if g == gid)
        return member

    async def leave(self, gid: str, uid: str) -> None:
        """The member leaves (or is kicked): gone from the guild, and the gateway says so."""
        self.members.pop((gid, uid), None)
        self.guilds[gid]["member_count"] = sum(1 for g, _ in self.members if g == gid)
        await self.dispatch("GUILD_MEMBER_REMOVE", {"guild_id": gid, "user": self.users[uid]})

    def _guild_create(self, gid: str) -> dict[str, Any]:
        guild = dict(self.guilds[gid])
        guild["channels"] = [
            {k: v for k, v in c.items() if k != "guild_id"} for c in self.channels.values() if c["guild_id"] == gid
        ]
        guild["members"] = [m for (g, _), m in self.members.items() if g == gid]
        return guild

    # --- gateway --------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        await self.gateway_open.wait()
        raw = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await raw.prepare(request)
        self.gateway_query = dict(request.query)
        ws = FramedSocket.opened(raw, request.query.get("compress"), self.gateway_kind)
        self._ws = ws
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45_000}, "s": None, "t": None})
        async for msg in raw:
            if msg.type != WSMsgType.TEXT:
                break
            payload = json.loads(msg.data)
            op, data = payload.get("op"), payload.get("d")
            if op == 1:
                await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
            elif op == 2:
                await self._identify(ws, data)
            elif op == 6:
                await self._resume(ws, data)
        if self._ws is ws:
            self._ws = None
        return raw

    async def _identify(self, ws: FramedSocket, data: dict[str, Any]) -> None:
        assert data["token"] == self.token, "wrong token"
        self.identify_compress = data.get("compress")
        ws.identified(data.get("compress"))
        self.identify_count += 1
        self.intents = data.get("intents")
        self._session_id = uuid.uuid4().hex
        self._seq = 0
        self._log = []
        await self._send(
            ws,
            "READY",
            {
                "v": 10,
                "user": self.bot_user,
                "guilds": [{"id": g, "unavailable": True} for g in self.guilds],
                "session_id": self._session_id,
                "resume_gateway_url": self.gateway_url,
                "application": {"id": self.app_id, "flags": 0},
                "private_channels": [],
                "relationships": [],
                "shard": data.get("shard") or [0, 1],
            },
        )
        for gid in self.guilds:
            await self._send(ws, "GUILD_CREATE", self._guild_create(gid))
        self._ready.set()

    async def _resume(self, ws: FramedSocket, data: dict[str, Any]) -> None:
        if self.refuse_resume or data.get("session_id") != self._session_id:
            self.refuse_resume = False
            await ws.send_json({"op": 9, "d": False, "s": None, "t": None})
            return
        self.resume_count += 1
        for entry in self._log:
            if entry["s"] > (data.get("seq") or 0):
                await ws.send_json(entry)
        self._seq += 1
        await ws.send_json({"op": 0, "t": "RESUMED", "s": self._seq, "d": {}})

    async def _send(self, ws: FramedSocket | None, event: str, data: dict[str, Any]) -> None:
        self._seq += 1
        entry = {"op": 0, "t": event, "s": self._seq, "d": data}
        self._log.append(entry)
        if ws is not None and not ws.closed:
            with contextlib.suppress(ConnectionError):  # the client is away: it gets this on RESUME
                await ws.send_json(entry)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        await self._send(self._ws, event, data)

    async def reconnect(self) -> None:
        """op 7: the client closes and RESUMEs."""
        if self._ws is not None:
            await self._ws.send_json({"op": 7, "d": None, "s": None, "t": None})

    async def drop(self, code: int = 4000) -> None:
        """Close the socket abruptly, as a network fault would."""
        if self._ws is not None:
            await self._ws.close(code=code)

    # --- what users do --------------------------------------------------------------------------

    def _message(self, cid: str, author: dict[str, Any], content: str, **extra: Any) -> dict[str, Any]:
        channel = self.channels.get(cid)
        mid = snowflake()
        message = {
            "id": mid,
            "channel_id": cid,
            "author": author,
            "content": content,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            **extra,
        }
        if channel is not None:
            message["guild_id"] = channel["guild_id"]
        self.messages[mid] = message
        return message

    async def user_says(self, cid: str, uid: str, content: str, **extra: Any) -> dict[str, Any]:
        gid = self.channels[cid]["guild_id"]
        member = self.members[(gid, uid)]
        message = self._message(cid, member["user"], content, **extra)
        message["member"] = {k: v for k, v in member.items() if k != "user"}
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    async def user_dms_bot(self, uid: str, content: str, reply_to: str | None = None) -> dict[str, Any]:
        """A user writes to the bot in a direct message (a DM channel has no guild), perhaps as a
        reply to one of the bot's messages there (Discord sends the message replied to along)."""
        dm = next((c for c, u in self.dms.items() if u == uid), None) or snowflake()
        self.dms[dm] = uid
        extra: dict[str, Any] = {}
        if reply_to is not None:
            extra["message_reference"] = {"type": 0, "message_id": reply_to, "channel_id": dm}
            extra["referenced_message"] = self.messages[reply_to]
            extra["type"] = 19
        message = self._message(dm, self.users[uid], content, **extra)
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    async def user_edits(self, mid: str, content: str) -> dict[str, Any]:
        message = self.messages[mid]
        message["content"] = content
        message["edited_timestamp"] = now_iso()
        await self.dispatch("MESSAGE_UPDATE", message)
        return message

    async def click(self, mid: str, custom_id: str, uid: str, permissions: int = 0) -> str:
        """A member presses a button on a message: INTERACTION_CREATE type 3 (component)."""
        message = self.messages[mid]
        return await self._interact(
            3, message["channel_id"], uid, permissions, {"custom_id": custom_id, "component_type": 2}, message=message
        )

    async def click_reply(self, iid: str, custom_id: str, uid: str) -> str:
        """A member presses a button on the bot's answer to interaction `iid` (an ephemeral one
        too: the member who saw it can press it)."""
        data = self.callbacks[iid].get("data") or {}
        known = [c["custom_id"] for row in data.get("components", []) for c in row["components"]]
        assert custom_id in known, f"{custom_id} is not on the answer to {iid} ({known})"
        cid = self._interaction_channel[iid]
        reply = self._message(cid, self.bot_user, data.get("content") or "", components=data["components"])
        reply["flags"] = data.get("flags", 0)
        return await self.click(reply["id"], custom_id, uid)

    async def submit_form(self, cid: str, uid: str, custom_id: str, values: dict[str, str]) -> str:
        """A user sends a modal form the bot showed: INTERACTION_CREATE type 5, one row per input."""
        rows = [{"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()]
        return await self._interact(5, cid, uid, 0, {"custom_id": custom_id, "components": rows})

    async def command(self, cid: str, uid: str, data: dict[str, Any], permissions: int = 0) -> str:
        """A member runs an application command (slash or context menu): INTERACTION_CREATE type 2."""
        gid = self.channels[cid]["guild_id"]
        registered = {c["name"]: c for c in self.commands.get(gid, [])}
        return await self._interact(
            2, cid, uid, permissions, {"id": registered[data["name"]]["id"], "guild_id": gid, **data}
        )

    async def _interact(
        self,
        kind: int,
        cid: str,
        uid: str,
        permissions: int,
        data: dict[str, Any],
        message: dict[str, Any] | None = None,
    ) -> str:
        iid = snowflake()
        if cid in self.dms:  # a direct message: no guild, the user instead of a member
            who: dict[str, Any] = {"user": self.users[uid]}
            where: dict[str, Any] = {"channel": {"id": cid, "type": 1, "recipients": [self.users[uid]]}}
        else:
            gid = self.channels[cid]["guild_id"]
            who = {"member": {**self.members[(gid, uid)], "permissions": str(permissions)}}
            where = {"guild_id": gid, "channel": self.channels[cid]}
        payload = {
            "id": iid,
            "application_id": self.app_id,
            "type": kind,
            "token": f"tok-{iid}",
            "version": 1,
            "channel_id": cid,
            **where,
            **who,
            "data": data,
            "app_permissions": str((1 << 53) - 1),
            "attachment_size_limit": 8 * 1024 * 1024,
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": 1 if cid in self.dms else 0,
        }
        self._interaction_channel[iid] = cid
        if message is not None:
            payload["message"] = message
            self._interaction_message[iid] = message["id"]  # before the bot can answer
        await self.dispatch("INTERACTION_CREATE", payload)
        return iid

    async def wait_callback(self, iid: str, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while iid not in self.callbacks:
            if time.monotonic() > deadline:
                raise AssertionError(f"no interaction callback for {iid}")
            await asyncio.sleep(0.02)
        return self.callbacks[iid]

    # --- REST -----------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            body = json.loads(raw) if raw and request.content_type == "application/json" else raw
        if request.path.startswith("/api/v10/interactions") or path.startswith("/webhooks"):
            pass  # interaction callbacks are not rate limited per bot bucket
        elif request.headers.get("Authorization") != f"Bot {self.token}":
            return self._json({"message": "401: Unauthorized", "code": 0}, 401)
        limited, headers = self._rate_limited(request.method, path)
        if limited is not None:
            self.calls.append(Call(request.method, path, body, 429))
            return limited
        response = await self._route(request.method, path, body, request)
        response.headers.update(headers)
        self.calls.append(Call(request.method, path, body, response.status))
        return response

    def _rate_limited(self, method: str, path: str) -> tuple[web.Response | None, dict[str, str]]:
        rl = self.rate_limit
        if rl is None or not (path.startswith("/channels/") or path.startswith("/guilds/")):
            return None, {}
        bucket = f"{method} {path.split('/')[1]}/{path.split('/')[2]}"
        now = time.monotonic()
        hits = [t for t in rl.hits.get(bucket, []) if now - t < rl.window]
        rl.hits[bucket] = hits
        reset_after = max(0.0, rl.window - (now - hits[0])) if hits else rl.window
        if len(hits) >= rl.limit:
            rl.rejected += 1
            return self._json(
                {"message": "You are being rate limited.", "retry_after": round(reset_after, 3), "global": False},
                429,
                {
                    "Retry-After": str(reset_after),
                    "X-RateLimit-Limit": str(rl.limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                    "X-RateLimit-Bucket": bucket.replace(" ", "-"),
                    "X-RateLimit-Scope": "user",
                    "Via": "1.1 google",  # real 429s come through Discord's proxy; discord.py checks
                },
            ), {}
        hits.append(now)
        if not rl.announce:
            return None, {}
        return None, {
            "X-RateLimit-Limit": str(rl.limit),
            "X-RateLimit-Remaining": str(rl.limit - len(hits)),
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Bucket": bucket.replace(" ", "-"),
        }

    def _history(self, cid: str, query: Mapping[str, str]) -> list[dict[str, Any]]:
        """GET /channels/{id}/messages as Discord answers it: with `after`, the `limit` messages just
        after that id; with `before` (or neither), the `limit` just before it; newest first either way."""
        limit = min(int(query.get("limit", 50)), 100)
        kept = sorted(
            (m for mid, m in self.messages.items() if m["channel_id"] == cid and mid not in self.deleted),
            key=lambda m: int(m["id"]),
        )
        if "after" in query:
            kept = [m for m in kept if int(m["id"]) > int(query["after"])][:limit]
        else:
            if "before" in query:
                kept = [m for m in kept if int(m["id"]) < int(query["before"])]
            kept = kept[-limit:]
        return list(reversed(kept))

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        # discord.py compares the content type exactly: no charset parameter.
        return web.Response(
            body=json.dumps(data).encode(),
            status=status,
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    async def _route(self, method: str, path: str, body: Any, request: web.Request) -> web.Response:
        parts = path.strip("/").split("/")
        match (method, parts):
            case ("GET", ["users", "@me"]):
                return self._json(self.bot_user)
            case ("GET", ["oauth2", "applications", "@me"]):
                return self._json(
                    {
                        "id": self.app_id,
                        "name": "modbot",
                        "description": "",
                        "icon": None,
                        "bot_public": False,
                        "bot_require_code_grant": False,
                        "owner": user_payload(snowflake(), "owner"),
                        "verify_key": "0" * 64,
                        "flags": 0,
                    }
                )
            case ("GET", ["gateway", "bot"]):
                return self._json(
                    {
                        "url": self.gateway_url,
                        "shards": 1,
                        "session_start_limit": {
                            "total": 1000,
                            "remaining": 999,
                            "reset_after": 0,
                            "max_concurrency": 1,
                        },
                    }
                )
            case ("PUT", ["applications", _, "guilds", gid, "commands"]) if self.refuse_commands:
                return self._json({"message": "Missing Access", "code": 50001}, 403)
            case ("PUT", ["applications", _, "guilds", gid, "commands"]):
                self.commands[gid] = [
                    {
                        **_COMMAND_DEFAULTS,
                        **c,
                        "id": snowflake(),
                        "application_id": self.app_id,
                        "version": snowflake(),
                        "guild_id": gid,
                    }
                    for c in body
                ]
                return self._json(self.commands[gid])
            case ("PUT", ["applications", _, "commands"]):
                return self._json(
                    [
                        {
                            **_COMMAND_DEFAULTS,
                            **c,
                            "id": snowflake(),
                            "application_id": self.app_id,
                            "version": snowflake(),
                        }
                        for c in body
                    ]
                )
            case ("POST", ["channels", cid, "messages"]):
                if cid in self.dms and self.dms[cid] in self.dm_closed:
                    return self._json({"message": "Cannot send messages to this user", "code": 50007}, 403)
                if body.get("enforce_nonce") and (earlier := self._nonces.get(str(body.get("nonce")))):
                    return self._json(earlier)  # Discord's answer to a repeat: the message already posted
                message = self._message(
                    cid,
                    self.bot_user,
                    body.get("content") or "",
                    embeds=body.get("embeds") or [],
                    components=body.get("components") or [],
                )
                if "message_reference" in body:
                    message["message_reference"] = body["message_reference"]
                if body.get("nonce") is not None:
                    message["nonce"] = body["nonce"]
                    self._nonces[str(body["nonce"])] = message
                await self.dispatch("MESSAGE_CREATE", message)
                if self.lose_responses > 0:
                    self.lose_responses -= 1
                    return self._json({"message": "503: Service Unavailable", "code": 0}, 503)
                return self._json(message)
            case ("PATCH", ["channels", cid, "messages", mid]):
                message = self.messages[mid]
                message.update({k: v for k, v in body.items() if k in ("content", "embeds", "components")})
                return self._json(message)
            case ("DELETE", ["channels", cid, "messages", mid]):
                if mid not in self.messages or mid in self.deleted:
                    return self._json({"message": "Unknown Message", "code": 10008}, 404)
                self.deleted.append(mid)
                await self.dispatch(
                    "MESSAGE_DELETE", {"id": mid, "channel_id": cid, "guild_id": self.channels[cid]["guild_id"]}
                )
                return web.Response(status=204)
            case ("GET", ["channels", cid, "messages"]):
                return self._json(self._history(cid, request.query))
            case ("GET", ["channels", cid]):
                return self._json(self.channels[cid])
            case ("GET" | "PATCH" | "DELETE", ["guilds", gid, "members", uid]) if (gid, uid) not in self.members:
                return self._json({"message": "Unknown Member", "code": 10007}, 404)
            case ("GET", ["guilds", gid, "members", uid]):
                return self._json(self.members[(gid, uid)])
            case ("PATCH", ["guilds", gid, "members", uid]) if "communication_disabled_until" in body and (
                refused := self._refused(gid, 1 << 40)
            ):
                return refused
            case ("DELETE", ["guilds", gid, "members", _]) if refused := self._refused(gid, 1 << 1):
                return refused
            case ("PUT", ["guilds", gid, "bans", _]) if refused := self._refused(gid, 1 << 2):
                return refused
            case ("PATCH", ["guilds", gid, "members", uid]):
                member = self.members[(gid, uid)]
                member.update({k: v for k, v in body.items() if k in ("communication_disabled_until", "nick", "roles")})
                await self.dispatch("GUILD_MEMBER_UPDATE", {"guild_id": gid, **member})
                return self._json(member)
            case ("DELETE", ["guilds", gid, "members", uid]):
                self.kicks.append((gid, uid))
                await self.leave(gid, uid)
                return web.Response(status=204)
            case ("PUT", ["guilds", gid, "bans", uid]):
                self.bans[(gid, uid)] = body or {}
                return web.Response(status=204)
            case ("POST", ["users", "@me", "channels"]):
                uid = str(body["recipient_id"])
                dm = next((c for c, u in self.dms.items() if u == uid), None) or snowflake()
                self.dms[dm] = uid
                return self._json(
                    {"id": dm, "type": 1, "recipients": [self.users[uid]], "last_message_id": None, "flags": 0}
                )
            case ("POST", ["interactions", iid, _token, "callback"]):
                self.callbacks[iid] = body
                data = body.get("data") or {}
                if body.get("type") == 7:  # UPDATE_MESSAGE: the component's message changes
                    source = self.messages.get(self._interaction_message.get(iid, ""))
                    if source is not None:
                        source.update({k: v for k, v in data.items() if k in ("content", "embeds", "components")})
                response: dict[str, Any] = {
                    "interaction": {"id": iid, "type": 3, "response_message_ephemeral": bool(data.get("flags", 0) & 64)}
                }
                if body.get("type") in (4, 7):
                    msg = {
                        **self._message("0", self.bot_user, data.get("content") or "", embeds=data.get("embeds") or []),
                        "flags": data.get("flags", 0),
                    }
                    response["resource"] = {"type": body["type"], "message": msg}
                return self._json(response)
            case ("PATCH", ["webhooks", _, token, "messages", "@original"]):
                iid = token.removeprefix("tok-")
                self.callbacks.setdefault(iid, {}).setdefault("edits", []).append(body)
                return self._json(
                    self._message("0", self.bot_user, body.get("content") or "", embeds=body.get("embeds") or [])
                )
            case ("POST", ["webhooks", _, token]):
                iid = token.removeprefix("tok-")
                self.callbacks.setdefault(iid, {}).setdefault("followups", []).append(body)
                return self._json(
                    self._message("0", self.bot_user, body.get("content") or "", embeds=body.get("embeds") or [])
                )
        return self._json({"message": f"fake Discord has no route {method} {path}", "code": 0}, 404)
