"""Every dashboard page and API route, as every role, after every change a moderator can make
(assign, note, escalate, verdict, bulk verdict, draft edit), on SQLite and PostgreSQL: nothing
answers 5xx. Then a set of malformed requests (inf and nan, ids past 64 bits, digits that are not
ASCII, wrong JSON types, deep nesting, NUL, oversized bulk): each is a 4xx with the security
headers, never a 500."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.config import WebConfig
from bot.storage.drafts import DraftOutcome, DraftStore
from bot.storage.store import Store
from bot.web.app import make_app
from bot.web.inputs import MAX_BULK
from bot.web.routes import CASE, ROUTES
from tests.conftest import swearing_verdicts
from tests.test_dashboard import login, seed

ROLES = ("vic", "kate", "ada")  # viewer, moderator, admin
PAGES = ["/", "/queue", "/queue?sort=score&state=closed", "/cases/{case}", "/log", "/log?page=2", "/stats",
         "/calibration", "/calibration?target=2", "/calibration?target=x",
         "/moderators", "/login", "/api/me", "/api/cases", "/api/cases?state=escalated", "/api/cases/{case}",
         "/api/drafts", "/api/drafts?status=queued", "/api/decisions", "/api/stats", "/api/openapi.json",
         "/quarantine", "/quarantine?platform=console&page=2", "/api/quarantine", "/actions",
         "/labels", "/labels?subject=did:plc:x", "/labels?subject=at%3A%2F%2Fdid:plc:x%2Fa%2Fb"]  # fmt: skip
HUGE = str(2**64 + 5)
MALFORMED: list[tuple[str, str, Any]] = [
    ("GET", "/queue?page=inf", None),
    ("GET", "/queue?page=nan", None),
    ("GET", "/queue?page=1e309", None),
    ("GET", "/queue?page=99999999999999999999", None),
    ("GET", "/queue?page=%D9%A3", None),  # Arabic-Indic three
    ("GET", "/queue?max_age_hours=-inf&min_score=nan", None),
    ("GET", "/queue?community=%00&category=%00", None),
    ("GET", "/log?page=-1", None),
    ("GET", "/labels?subject=%00", None),
    ("GET", "/labels?subject=" + "d" * 5000, None),
    ("GET", "/log?page=%EF%BC%92", None),  # fullwidth two
    ("GET", "/quarantine?page=inf&platform=%00", None),
    ("GET", "/api/quarantine?page=1e309", None),
    ("GET", f"/cases/{HUGE}", None),
    ("GET", f"/api/cases/{HUGE}", None),
    ("POST", f"/api/cases/{HUGE}/resolve", {"verdict": "approve"}),
    ("POST", "/api/cases/{case}/resolve", {"verdict": ["approve"]}),
    ("POST", "/api/cases/{case}/resolve", {"verdict": "approve", "note": 12345}),
    ("POST", "/api/cases/{case}/resolve", {"verdict": "approve", "note": "x" * 100_000}),
    ("POST", "/api/cases/{case}/assign", {"assignee": "y" * 100_000}),
    ("POST", "/api/cases/{case}/assign", {"assignee": "nobody-by-that-name"}),
    ("POST", "/api/cases/{case}/assign", {"assignee": {"name": "kate"}}),
    ("POST", "/api/cases/{case}/escalate", {"note": [1, 2]}),
    ("POST", "/api/cases/bulk", {"action": "approve", "cases": list(range(1, MAX_BULK + 2))}),
    ("POST", "/api/cases/bulk", {"action": "approve", "cases": [True, 1.5, "1"]}),
    ("POST", "/api/cases/bulk", {"action": "approve", "cases": [2**70]}),
    ("POST", "/api/cases/bulk", {"action": {"x": 1}, "cases": 7}),
    ("POST", "/api/drafts/{draft}", {"verdict": 1, "text": ["x"]}),
    ("POST", "/api/drafts/{draft}", {"verdict": "edit", "text": 42}),
    ("POST", "/api/cases/{case}/resolve", "[" * 5000 + "]" * 5000),
    ("POST", "/api/cases/{case}/resolve", '{"verdict": "approve\\u0000"}'),
    ("POST", "/api/cases/{case}/resolve", b"\xff\xfe not json"),
]


def test_the_walk_visits_every_page_and_api_read() -> None:
    walked = {page.split("?")[0].replace("{case}", "1") for page in PAGES}
    for route in ROUTES:
        if route.method == "GET" and not route.path.startswith("/static"):
            assert route.path.replace(CASE, "1") in walked, route.path


def _proposed_draft(store: Store, post_row: int) -> int:
    drafts = DraftStore(store)
    draft = drafts.request(post_row, "rule_reminder", {"category": "profanity"}, "test", "test")
    drafts.claim(10)
    text = "A reminder of our rule: be kind."
    drafts.finish(draft, DraftOutcome("proposed", text, None, (), (), {}, "template", "p1"))
    return draft


def _posts() -> list[tuple[str, str, str]]:
    return [(f"w{i}", f"author{i}", f"shut the fuck up, walk number {i}") for i in range(6)]


async def _clients(server: TestServer) -> dict[str, tuple[TestClient, str]]:
    clients = {}
    for name in ROLES:
        client = TestClient(server)
        await client.start_server()
        clients[name] = (client, await login(client, name))
    return clients


async def _walk(clients: dict[str, tuple[TestClient, str]], case: int) -> list[str]:
    failures = []
    for name, (client, _) in clients.items():
        for page in PAGES:
            path = page.format(case=case)
            resp = await client.get(path, allow_redirects=False)
            if resp.status >= 500:
                failures.append(f"{name} GET {path}: {resp.status}")
    return failures


def test_no_route_answers_5xx_in_any_state_for_any_role(store: Store, accounts: Any, profanity_scorer: object) -> None:
    seed(store, profanity_scorer, _posts())
    cases = [c.id for c in store.cases(("open",), 10)]
    row = store.case(cases[0])
    assert row is not None
    draft = _proposed_draft(store, row.post_row)
    # each change, and the cases it touches: every page is walked for those cases after it
    steps: list[tuple[str, str, Any, list[int]]] = [
        ("POST", f"/api/cases/{cases[0]}/assign", {"assignee": "kate"}, cases[:1]),
        ("POST", f"/cases/{cases[1]}/assign", {}, cases[1:2]),
        ("POST", f"/cases/{cases[0]}/note", {"note": "looking"}, cases[:1]),
        ("POST", f"/api/cases/{cases[1]}/escalate", {"note": "senior please"}, cases[1:2]),
        ("POST", f"/api/cases/{cases[2]}/resolve", {"verdict": "remove", "note": "rule 1"}, cases[2:3]),
        ("POST", f"/cases/{cases[3]}/resolve", {"verdict": "approve"}, cases[3:4]),
        ("POST", "/api/cases/bulk", {"action": "escalate", "cases": cases[4:6]}, cases[4:6]),
        ("POST", f"/api/drafts/{draft}", {"verdict": "edit", "text": "Please keep it kind."}, cases[:1]),
    ]

    async def go() -> None:
        app = make_app(store, swearing_verdicts(), WebConfig(secure_cookies=False))
        async with TestServer(app) as server:
            clients = await _clients(server)
            failures = await _walk(clients, cases[0])
            kate, csrf = clients["kate"]
            for method, path, body, touched in steps:
                if path.startswith("/api/"):
                    resp = await kate.request(method, path, json=body, headers={"X-CSRF-Token": csrf})
                else:
                    resp = await kate.request(method, path, data={**body, "csrf": csrf}, allow_redirects=False)
                assert resp.status < 400, (path, resp.status, await resp.text())
                for case in touched:
                    failures += [f"after {path}: {f}" for f in await _walk(clients, case)]
            for case in cases:  # and every case in its final state
                failures += [f"at the end: {f}" for f in await _walk(clients, case)]
            for client, _ in clients.values():
                await client.close()
            assert failures == []

    asyncio.run(go())


def test_malformed_requests_are_refused_with_the_security_headers(
    store: Store,
    accounts: Any,
    profanity_scorer: object,
) -> None:
    seed(store, profanity_scorer, _posts())
    case = store.cases(("open",), 1)[0].id
    row = store.case(case)
    assert row is not None
    draft = _proposed_draft(store, row.post_row)

    async def go() -> None:
        app = make_app(store, swearing_verdicts(), WebConfig(secure_cookies=False))
        async with TestServer(app) as server:
            client = TestClient(server)
            await client.start_server()
            csrf = await login(client, "ada")
            answers = []
            for method, path, body in MALFORMED:
                path = path.format(case=case, draft=draft)
                headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
                data = body if isinstance(body, str | bytes) else json.dumps(body) if body is not None else None
                resp = await client.request(method, path, data=data, headers=headers, allow_redirects=False)
                answers.append((path[:60], resp.status, "Content-Security-Policy" in resp.headers))
            await client.close()
        assert [a for a in answers if a[1] >= 500 or not a[2]] == []
        served = [path for path, status, _ in answers if status < 400]
        assert served == ["/queue?community=%00&category=%00"], answers  # a filter that matches nothing

    asyncio.run(go())
