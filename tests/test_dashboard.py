"""The dashboard over HTTP (aiohttp's test client against the real app, store and database): login,
lockout and rate limits, sessions, CSRF, roles, escaping of hostile posts, the JSON API and its
OpenAPI document. tests/test_dashboard_browser.py drives the same app in a real browser."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from bot.config import Config, WebConfig
from bot.storage.store import Store
from bot.web.accounts import Accounts
from bot.web.app import make_app
from moderation.decider import Decider
from moderation.types import Author, Post
from tests.conftest import RULES_ONLY, free_port, swearing_flagged

XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> {{ 7*7 }} fuck you'
PASSWORD = "correct horse battery"


def seed(store: Store, profanity_scorer: object, posts: list[tuple[str, str, str]]) -> None:
    """Decide posts with the real profanity scorer and store them (cases for the flagged ones)."""
    from datetime import UTC, datetime

    config = swearing_flagged()
    decider = Decider([profanity_scorer], config.build_policy())  # type: ignore[list-item]
    items = [
        Post("console", "garden", "general", pid, Author(author, handle=author), body, datetime.now(UTC))
        for pid, author, body in posts
    ]
    accepted = store.accept(items)
    decided = decider.decide([p for _, p in accepted])
    store.record([(row, post, d, acts) for (row, post), (d, acts) in zip(accepted, decided, strict=True)])


def run(store: Store, test: Callable[[TestClient], Awaitable[None]], **web: object) -> None:
    async def go() -> None:
        app = make_app(store, swearing_flagged().build_policy(), WebConfig(secure_cookies=False, **web))  # type: ignore[arg-type]
        async with TestClient(TestServer(app)) as client:
            await test(client)

    asyncio.run(go())


async def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    resp = await client.post("/login", data={"name": name, "password": password}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    me = await (await client.get("/api/me")).json()
    return str(me["csrf"])


@pytest.fixture
def accounts(store: Store) -> Accounts:
    accounts = Accounts(store)
    for name, role in (("ada", "admin"), ("kate", "moderator"), ("vic", "viewer")):
        accounts.add(name, PASSWORD, role, "test", "test")  # type: ignore[arg-type]
    return accounts


def test_hostile_posts_are_escaped_and_pages_are_locked_down(
    store: Store, accounts: Accounts, profanity_scorer: object
) -> None:
    seed(store, profanity_scorer, [("x1", "<b>mallory</b>", XSS), ("x2", "bob", "good morning")])

    async def test(client: TestClient) -> None:
        assert (await client.get("/queue", allow_redirects=False)).status == 303  # not logged in
        assert (await client.get("/api/cases")).status == 401
        await login(client, "vic")
        queue = await client.get("/queue")
        page = await queue.text()
        csp = queue.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert queue.headers["X-Frame-Options"] == "DENY" and queue.headers["X-Content-Type-Options"] == "nosniff"
        assert "<script>window.__pwned" not in page and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
        assert "<b>mallory</b>" not in page and "&lt;b&gt;mallory&lt;/b&gt;" in page
        # template syntax in a post stays text ("49" alone could be in a timestamp)
        assert "{{ 7*7 }}" in page and "&gt; 49 fuck" not in page and "> 49 fuck" not in page
        assert re.search(r"<script(?![^>]*\bsrc=)", page) is None  # no inline script at all
        case = await (await client.get("/cases/1")).text()
        assert "&lt;img src=x onerror=" in case and "<img src=x" not in case
        assert "<mark>fuck</mark>" in case  # the evidence span, highlighted
        assert 'name="verdict"' not in case  # a viewer gets no action buttons

    run(store, test)


def test_csrf_roles_and_verdicts(store: Store, accounts: Accounts, profanity_scorer: object) -> None:
    seed(store, profanity_scorer, [(f"t{i}", f"troll{i}", f"fuck off {i}") for i in range(4)])

    async def test(client: TestClient) -> None:
        csrf = await login(client, "vic")
        refused = await client.post("/cases/1/resolve", data={"csrf": csrf, "verdict": "remove"})
        assert refused.status == 403 and "moderator role" in await refused.text()
        await client.post("/logout", data={"csrf": csrf})
        csrf = await login(client, "kate")
        no_token = await client.post("/cases/1/resolve", data={"verdict": "remove"})
        assert no_token.status == 403 and "CSRF" in await no_token.text()
        wrong = await client.post("/api/cases/1/resolve", json={"verdict": "remove"}, headers={"X-CSRF-Token": "x"})
        assert wrong.status == 403
        done = await client.post(
            "/cases/1/resolve", data={"csrf": csrf, "verdict": "remove", "note": "abuse"}, allow_redirects=False
        )
        assert done.status == 303
        again = await client.post("/api/cases/1/resolve", json={"verdict": "approve"}, headers={"X-CSRF-Token": csrf})
        assert again.status == 409  # closed already
        # Bulk: the first post asks for confirmation, the second acts.
        ask = await client.post("/cases/bulk", data={"csrf": csrf, "action": "remove", "case": ["2", "3"]})
        assert "Remove 2 case(s)?" in await ask.text()
        assert [c.state for c in store.cases(("closed",))] == ["closed"]
        await client.post(
            "/cases/bulk", data={"csrf": csrf, "action": "remove", "case": ["2", "3"], "confirmed": "yes"}
        )
        api = await client.post(
            "/api/cases/bulk", json={"action": "escalate", "cases": [4]}, headers={"X-CSRF-Token": csrf}
        )
        assert (await api.json())["results"] == [{"case": 4, "result": "done"}]
        assert (await client.get("/moderators")).status == 403  # admin only

    run(store, test)
    closed = {c.id: c for c in store.cases(("closed",))}
    assert {i: (c.resolution, c.closed_by) for i, c in closed.items()} == {
        1: ("removed", "kate"),
        2: ("removed", "kate"),
        3: ("removed", "kate"),
    }
    with store.engine.connect() as conn:
        audit = conn.execute(text("SELECT actor, action, origin FROM audit_log ORDER BY id")).all()
    actions = [(a, b) for a, b, _ in audit]
    assert ("vic", "csrf.refused") not in actions and ("kate", "csrf.refused") in actions
    assert ("kate", "case.removed") in actions and ("kate", "case.escalated") in actions
    assert all(origin.startswith("web ") for a, b, origin in audit if b.startswith("case."))


def test_lockout_and_rate_limit(store: Store, accounts: Accounts) -> None:
    async def test(client: TestClient) -> None:
        for _ in range(5):
            bad = await client.post("/login", data={"name": "kate", "password": "nope"})
            assert bad.status == 401 and "wrong name or password" in await bad.text()
        locked = await client.post("/login", data={"name": "kate", "password": PASSWORD})
        assert locked.status == 401 and "locked" in await locked.text()
        unknown = await client.post("/login", data={"name": "nobody", "password": PASSWORD})
        assert unknown.status == 401 and "wrong name or password" in await unknown.text()
        limited = await client.post("/login", data={"name": "ada", "password": PASSWORD})
        assert limited.status == 429  # eight attempts from one address within a minute

    run(store, test, login_attempts_per_minute=7)
    with store.engine.begin() as conn:  # the lockout ends by itself
        conn.execute(text("UPDATE moderators SET locked_until = :t"), {"t": "2000-01-01 00:00:00+00:00"})

    async def later(client: TestClient) -> None:
        await login(client, "kate")

    run(store, later)


def test_sessions_expire_and_disabled_accounts_are_logged_out(store: Store, accounts: Accounts) -> None:
    async def test(client: TestClient) -> None:
        resp = await client.post("/login", data={"name": "ada", "password": PASSWORD}, allow_redirects=False)
        cookie = resp.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        csrf = (await (await client.get("/api/me")).json())["csrf"]
        added = await client.post(
            "/moderators", data={"csrf": csrf, "op": "add", "name": "neo", "password": "short", "role": "viewer"}
        )
        assert added.status == 400 and "at least 10 characters" in await added.text()
        await client.post("/moderators", data={"csrf": csrf, "op": "disable", "name": "kate"})

    run(store, test)
    assert [m.disabled for m in accounts.list() if m.name == "kate"] == [True]
    token = accounts.login("vic", PASSWORD, "test", 1).token
    assert accounts.session(token) is not None
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE web_sessions SET expires_at = :t"), {"t": "2000-01-01 00:00:00+00:00"})
    assert accounts.session(token) is None
    with store.engine.connect() as conn:  # only a hash of the token is stored
        assert token not in json.dumps([list(r) for r in conn.execute(text("SELECT * FROM web_sessions"))], default=str)


@pytest.mark.parametrize("form", [{}, {"assignee": "vic"}], ids=["claim", "assign"])
def test_a_claimed_or_assigned_case_still_opens(
    store: Store, accounts: Accounts, profanity_scorer: object, form: dict[str, str]
) -> None:
    """Audit entries without a note (claim, assign) once made the case page fail for good."""
    seed(store, profanity_scorer, [("c1", "ann", "fuck this")])

    async def test(client: TestClient) -> None:
        csrf = await login(client, "kate")
        done = await client.post("/cases/1/assign", data={"csrf": csrf, **form}, allow_redirects=False)
        assert done.status == 303
        page = await client.get("/cases/1")
        assert page.status == 200 and "case.assign" in await page.text()

    run(store, test)


def test_a_failing_page_is_a_plain_500_with_the_security_headers(
    store: Store, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret detail from inside the query")

    monkeypatch.setattr("bot.web.queries.queue", broken)  # stands in for a bug; nothing else is faked

    async def test(client: TestClient) -> None:
        await login(client, "kate")
        page = await client.get("/queue")
        assert page.status == 500 and "secret detail" not in await page.text()
        assert page.headers["Content-Security-Policy"] and page.headers["X-Frame-Options"] == "DENY"

    run(store, test)


def test_api_matches_its_openapi_document(store: Store, accounts: Accounts, profanity_scorer: object) -> None:
    seed(store, profanity_scorer, [("a1", "ann", "fuck this"), ("a2", "bo", "shit happens")])

    async def test(client: TestClient) -> None:
        answer = await client.get("/api/openapi.json")
        assert answer.headers["Server"] == "modbot"  # no framework name or version to fingerprint
        spec = await answer.json()
        assert spec["openapi"].startswith("3.")
        await login(client, "vic")
        cases = await (await client.get("/api/cases", params={"category": "profanity", "sort": "score"})).json()
        assert cases["matching"] == 2 and cases["counts"]["open"] == 2
        assert {c["category"] for c in cases["cases"]} == {"profanity"}
        one = await (await client.get("/api/cases/1")).json()
        assert one["decision"]["reasons"][0]["category"] == "profanity"
        log = await (await client.get("/api/decisions", params={"q": "happens"})).json()
        assert [d["author"] for d in log["decisions"]] == ["bo"]
        stats = await (await client.get("/api/stats")).json()
        assert stats["decisions"] == 2 and stats["per_category"][0]["category"] == "profanity"
        for path in ("/api/me", "/api/cases", "/api/decisions", "/api/stats", "/api/drafts"):
            assert path in spec["paths"]
        assert (await client.get("/api/cases", params={"sort": "nonsense"})).status == 400
        assert (await client.get("/queue", params={"min_score": "high"})).status == 400

    run(store, test)


def test_queue_filters(store: Store, accounts: Accounts, profanity_scorer: object, tmp_path: Path) -> None:
    seed(store, profanity_scorer, [("f1", "ann", "fuck this"), ("f2", "bo", "what the fuck"), ("f3", "cy", "hi")])

    async def test(client: TestClient) -> None:
        await login(client, "kate")
        page = await (await client.get("/queue", params={"min_score": "2"})).text()
        assert "No cases match." in page
        page = await (await client.get("/queue", params={"assignee": "-", "platform": "console"})).text()
        assert "#1" in page and "#2" in page

    run(store, test)


def test_secure_cookie_by_default(store: Store, accounts: Accounts) -> None:
    async def go() -> None:
        app = make_app(store, swearing_flagged().build_policy(), WebConfig())
        async with TestClient(TestServer(app)) as client:
            resp = await client.post("/login", data={"name": "kate", "password": PASSWORD}, allow_redirects=False)
            assert "Secure" in resp.headers["Set-Cookie"]

    asyncio.run(go())


def test_modbot_run_serves_the_dashboard(db_url: str, tmp_path: Path) -> None:
    """`modbot run` with [web] enabled serves the dashboard while it runs, and stops it on exit."""
    import socket

    import aiohttp

    from bot.service import run_service

    port = free_port()
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"id": "1", "text": "hello"}\n')
    config = Config.model_validate(
        {
            "data": {"dir": str(tmp_path)},
            "database": {"url": db_url},
            "adapters": {"console": {"source": str(feed), "follow": True}},
            "web": {"enabled": True, "port": port},
            "scorers": RULES_ONLY,
        }
    )

    async def go() -> None:
        stop = asyncio.Event()
        service = asyncio.create_task(run_service(config, stop_request=stop))
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/login") as resp:
                        assert resp.status == 200 and "Log in" in await resp.text()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the dashboard never answered")
        stop.set()
        await asyncio.wait_for(service, 60)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()

    asyncio.run(go())


def test_failed_platform_actions_are_surfaced_in_the_queue(
    store: Store, accounts: Accounts, profanity_scorer: object
) -> None:
    from moderation.actions import ActionSpec

    seed(store, profanity_scorer, [("f1", "ann", "fuck this"), ("f2", "bo", "shit happens")])
    view = store.resolve(1, "removed", "kate", "test", None, [ActionSpec("remove", {"reason": "r"})])
    [action] = [a for a in view.actions if a.kind == "remove"]
    store.finish_action(action.id, False, "Discord refused (403): Missing Permissions", None)

    async def test(client: TestClient) -> None:
        await login(client, "vic")
        page = await (await client.get("/queue", params={"state": ["open", "closed"]})).text()
        assert "failed platform actions: <b>1</b>" in page and "⚠ 1 failed" in page
        cases = await (await client.get("/api/cases", params={"state": "closed"})).json()
        assert cases["cases"][0]["failed_actions"] == 1
        case = await (await client.get("/cases/1")).text()
        assert "remove: failed" in case and "Missing Permissions" in case

    run(store, test)
