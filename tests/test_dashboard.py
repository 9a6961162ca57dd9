"""The dashboard over HTTP (aiohttp's test client against the real app, store and database): login,
lockout and rate limits, sessions, CSRF, roles, escaping of hostile posts, the JSON API and its
OpenAPI document. tests/test_dashboard_browser.py drives the same app in a real browser."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from bot.config import Config, WebConfig
from bot.ops.claims import ClaimRecord
from bot.storage.store import Store
from bot.web.accounts import Accounts
from bot.web.app import make_app
from bot.web.throttle import LoginThrottle, client_address
from moderation.decider import Decider
from moderation.types import Author, Post
from tests.conftest import PASSWORD, RULES_ONLY, free_port, swearing_flagged, swearing_verdicts

XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> {{ 7*7 }} fuck you'


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
        app = make_app(store, swearing_verdicts(), WebConfig(secure_cookies=False, **web))  # type: ignore[arg-type]
        async with TestClient(TestServer(app)) as client:
            await test(client)

    asyncio.run(go())


async def post_login(client: TestClient, name: str, password: str, **kwargs: Any) -> ClientResponse:
    """Log in as a browser does: the form first (its token and cookie), then the post."""
    form = await (await client.get("/login")).text()
    token = re.search(r'name="login_csrf" value="([^"]+)"', form)
    assert token is not None
    data = {"name": name, "password": password, "login_csrf": token[1]}
    return await client.post("/login", data=data, **kwargs)


async def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    resp = await post_login(client, name, password, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    me = await (await client.get("/api/me")).json()
    return str(me["csrf"])


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


def test_failed_logins_slow_one_address_down_without_locking_anyone_out(store: Store, accounts: Accounts) -> None:
    async def test(client: TestClient) -> None:
        for name in ("kate", "nobody"):  # a real name and an unknown one answer alike
            for _ in range(5):
                bad = await post_login(client, name, "nope")
                assert bad.status == 401 and "wrong name or password" in await bad.text()
            waiting = await post_login(client, name, PASSWORD)
            assert waiting.status == 429 and "too many failed logins; try again in 1 s" in await waiting.text()
        # kate herself, from another address behind the trusted proxy, is not locked out
        elsewhere = await post_login(client, "kate", PASSWORD, headers={"X-Forwarded-For": "203.0.113.9"})
        assert elsewhere.status == 200 and "Log in" not in await elsewhere.text()
        # and the header means nothing from a peer that is not a listed proxy: see the next run
        limited = await post_login(client, "ada", PASSWORD)
        assert limited.status == 429 and "wait a minute" in await limited.text()  # 13 attempts from 127.0.0.1

    run(store, test, login_attempts_per_minute=12, trusted_proxies=["127.0.0.1"])
    with store.engine.connect() as conn:
        throttled = (
            conn.execute(text("SELECT target_id FROM audit_log WHERE action = 'login.throttled' ORDER BY id"))
            .scalars()
            .all()
        )
    assert throttled == ["kate", "nobody"]  # the admin's alert: who was tried, from where, in the audit log

    async def untrusted(client: TestClient) -> None:
        for _ in range(5):
            await post_login(client, "kate", "nope", headers={"X-Forwarded-For": f"198.51.100.{_}"})
        waiting = await post_login(client, "kate", PASSWORD, headers={"X-Forwarded-For": "203.0.113.9"})
        assert waiting.status == 429  # a client cannot pick its own address

    run(store, untrusted)


def test_the_wait_doubles_up_to_its_cap_and_a_success_clears_it() -> None:
    throttle = LoginThrottle(free=2, cap_seconds=30)
    waits = [throttle.failed("Kate", "10.0.0.1", now=0) for _ in range(9)]
    assert waits == [0, 1, 2, 4, 8, 16, 30, 30, 30]
    assert throttle.wait("kate", "10.0.0.1", now=10) == 20 and throttle.wait("kate", "10.0.0.2", now=10) == 0
    assert throttle.wait("kate", "10.0.0.1", now=31) == 0  # never longer than the cap
    throttle.succeeded("KATE", "10.0.0.1")
    assert throttle.failed("kate", "10.0.0.1", now=40) == 0


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "client"),
    [
        ("10.0.0.5", None, [], "10.0.0.5"),
        ("10.0.0.5", "203.0.113.9", [], "10.0.0.5"),  # not a proxy: the header is the client's own words
        ("10.0.0.5", "203.0.113.9", ["10.0.0.0/8"], "203.0.113.9"),
        ("10.0.0.5", "1.2.3.4, 203.0.113.9, 10.0.0.7", ["10.0.0.0/8"], "203.0.113.9"),  # past every proxy
        ("10.0.0.5", "", ["10.0.0.0/8"], "10.0.0.5"),
        (None, "203.0.113.9", ["10.0.0.0/8"], "?"),
    ],
)
def test_the_client_address_believes_only_listed_proxies(
    peer: str | None, forwarded: str | None, proxies: list[str], client: str
) -> None:
    assert client_address(peer, forwarded, proxies) == client


def test_a_login_posted_from_another_site_is_refused(store: Store, accounts: Accounts) -> None:
    async def test(client: TestClient) -> None:
        bare = await client.post("/login", data={"name": "kate", "password": PASSWORD})
        assert bare.status == 400 and "did not come from this site" in await bare.text()
        form = await (await client.get("/login")).text()
        token = re.search(r'name="login_csrf" value="([^"]+)"', form)
        assert token is not None
        client.session.cookie_jar.clear()  # a cross-site post carries no SameSite=Strict cookie
        forged = await client.post("/login", data={"name": "kate", "password": PASSWORD, "login_csrf": token[1]})
        assert forged.status == 400

    run(store, test)


def test_sessions_expire_and_disabled_accounts_are_logged_out(store: Store, accounts: Accounts) -> None:
    async def test(client: TestClient) -> None:
        resp = await post_login(client, "ada", PASSWORD, allow_redirects=False)
        cookie = resp.cookies["modbot_session"].output()
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
        app = make_app(store, swearing_verdicts(), WebConfig())
        async with TestClient(TestServer(app)) as client:
            form = await client.get("/login")
            assert "Secure" in form.cookies["modbot_login"].output()
            # over plain http the jar keeps a Secure cookie back, as a browser would; send it by hand
            token = form.cookies["modbot_login"].value
            data = {"name": "kate", "password": PASSWORD, "login_csrf": token}
            headers = {"Cookie": f"modbot_login={token}"}
            resp = await client.post("/login", data=data, headers=headers, allow_redirects=False)
            assert resp.status == 303 and "Secure" in resp.cookies["modbot_session"].output()

    asyncio.run(go())


def test_modbot_run_serves_the_dashboard(db_url: str, tmp_path: Path) -> None:
    """`modbot run` with [web] enabled serves the dashboard while it runs, and stops it on exit."""
    import socket

    import aiohttp

    from bot.runtime.service import run_service

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


@pytest.mark.parametrize(
    ("url", "linked"),
    [("https://fact.example/5g", True), ("javascript:alert(document.cookie)", False), ("data:text/html,x", False)],
)
def test_a_fact_check_link_is_a_link_only_when_it_is_a_web_address(
    store: Store, accounts: Accounts, url: str, linked: bool
) -> None:
    """Imports keep only http(s) links (bot/ops/claims.py); one stored some other way is shown as text."""
    from datetime import UTC, datetime

    from bot.storage.schema import ClaimRow
    from moderation.types import Decision, Outcome, Reason, Ref, RefKind

    with store.engine.begin() as conn:
        claim_id = conn.execute(
            ClaimRow.__table__.insert().values(claim="5G spreads the virus", claim_sha256="x", url=url, rating="false")
        ).inserted_primary_key[0]
    [(row, post)] = store.accept(
        [Post("console", "garden", "general", "fc", Author("a"), "5g spreads it", datetime.now(UTC))]
    )
    reason = Reason(
        "claims", "misinformation", 0.9, 0.55, Outcome.FLAG, "matches", ref=Ref(RefKind.FACT_CHECK, str(claim_id))
    )
    decision = Decision(
        Outcome.FLAG, {"misinformation": 0.9}, {"claims": {"misinformation": 0.9}}, (reason,), {}, "p", False, ""
    )
    store.record([(row, post, decision, [])])
    [case] = store.cases(("open",), 10)

    async def test(client: TestClient) -> None:
        await login(client, "kate")
        page = await (await client.get(f"/cases/{case.id}")).text()
        assert "5G spreads the virus" in page
        assert ('href="https://fact.example/5g"' in page) is linked
        assert 'href="javascript' not in page and 'href="data' not in page

    run(store, test)
    assert ClaimRecord("a claim", url=url).url == (url if linked else "")


def test_every_request_is_in_the_access_log_without_its_query(
    store: Store, accounts: Accounts, caplog: pytest.LogCaptureFixture
) -> None:
    async def test(client: TestClient) -> None:
        await login(client, "kate")
        assert (await client.get("/queue", params={"q": "a user's words"})).status == 200

    with caplog.at_level("INFO", logger="bot.web.access"):
        run(store, test)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.web.access"]
    assert any(" kate GET /queue 200 " in line for line in lines), lines
    assert any(" - POST /login 303 " in line for line in lines)
    assert not any("words" in line for line in lines)
