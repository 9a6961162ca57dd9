"""The author directory's rules, table-driven: what is asked of the AppView and of the PLC
directory, and what is remembered. The AppView is a fake client (a failing or rate-limited AppView
cannot be had from the real stack on demand); the PLC directory is a real HTTP server on
127.0.0.1. The real stack's lookups are tested in tests/test_bluesky_ingest.py."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from atproto_client.exceptions import AtProtocolError

from bot.adapters.bluesky.authors import AuthorDirectory

PLC_CREATED = {"did:plc:old": "2020-01-02T00:00:00Z", "did:plc:bare": "2026-11-30T00:00:00Z"}


@dataclass
class AppView:
    """Profiles as app.bsky.actor.getProfiles answers them; `failing` is raised by every call."""

    profiles: dict[str, dict[str, Any]]
    failing: Exception | None = None
    calls: list[list[str]] = field(default_factory=list)

    async def get_profiles(self, params: dict[str, list[str]]) -> Any:
        self.calls.append(params["actors"])
        if self.failing is not None:
            raise self.failing
        found = [SimpleNamespace(did=d, **self.profiles[d]) for d in params["actors"] if d in self.profiles]
        return SimpleNamespace(profiles=found)

    @property
    def app(self) -> Any:
        return SimpleNamespace(bsky=SimpleNamespace(actor=self))


@pytest.fixture
def plc() -> Iterator[tuple[str, list[str]]]:
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            did = self.path.split("/")[1]
            asked.append(did)
            body = json.dumps([{"createdAt": PLC_CREATED[did]}] if did in PLC_CREATED else []).encode()
            self.send_response(200 if did in PLC_CREATED else 404)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", asked
    server.shutdown()
    server.server_close()


PROFILES = {
    "did:plc:dated": {"handle": "dated.test", "created_at": "2024-05-01T00:00:00Z"},
    "did:plc:old": {"handle": "old.test"},
    "did:plc:bare": {"handle": "bare.test"},
}

CASES = [
    # (batches of (dids, dated), AppView failing, expected PLC asks, expected getProfiles calls, last batch's ages)
    (
        "age from the AppView: PLC never asked",
        [(["did:plc:dated"], {"did:plc:dated"})],
        None,
        [],
        1,
        {"did:plc:dated": 2024},
    ),
    ("no age needed: PLC not asked", [(["did:plc:old"], set())], None, [], 1, {"did:plc:old": None}),
    (
        "age needed and missing: PLC asked",
        [(["did:plc:old"], {"did:plc:old"})],
        None,
        ["did:plc:old"],
        1,
        {"did:plc:old": 2020},
    ),
    (
        "needed later: PLC asked then, the AppView not again",
        [(["did:plc:bare"], set()), (["did:plc:bare"], {"did:plc:bare"})],
        None,
        ["did:plc:bare"],
        1,
        {"did:plc:bare": 2026},
    ),
    (
        "PLC has none: asked once only",
        [(["did:plc:ghost"], {"did:plc:ghost"}), (["did:plc:ghost"], {"did:plc:ghost"})],
        None,
        ["did:plc:ghost"],
        1,
        {"did:plc:ghost": None},
    ),
    (
        "a did:web is never asked of PLC",
        [(["did:web:x.test"], {"did:web:x.test"})],
        None,
        [],
        1,
        {"did:web:x.test": None},
    ),
    (
        "a failed AppView call is not remembered: asked again next batch",
        [(["did:plc:dated"], set()), (["did:plc:dated"], set())],
        AtProtocolError("rate limited"),
        [],
        2,
        {"did:plc:dated": None},
    ),
    (
        "a connection reset (httpx's error, unwrapped by the SDK) holds no post back either",
        [(["did:plc:dated"], set()), (["did:plc:dated"], set())],
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        [],
        2,
        {"did:plc:dated": None},
    ),
]


@pytest.mark.parametrize(
    ("batches", "failing", "plc_asks", "calls", "ages"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_lookups(
    plc: tuple[str, list[str]],
    batches: list[tuple[list[str], set[str]]],
    failing: Exception | None,
    plc_asks: list[str],
    calls: int,
    ages: dict[str, int | None],
) -> None:
    url, asked = plc
    appview = AppView(PROFILES, failing=failing)

    async def go() -> dict[str, Any]:
        directory = AuthorDirectory(appview, url, timeout=5)
        try:
            found: dict[str, Any] = {}
            for dids, dated in batches:
                found = await directory.authors(dids, dated)
            return found
        finally:
            await directory.close()

    found = asyncio.run(go())
    assert asked == plc_asks
    assert len(appview.calls) == calls
    got = {did: (a.account_created_at.year if a.account_created_at else None) for did, a in found.items()}
    assert got == ages
    if failing is None:
        assert all(found[d].handle == PROFILES.get(d, {}).get("handle") for d in found)


def test_many_authors_are_asked_25_at_a_time(plc: tuple[str, list[str]]) -> None:
    appview = AppView({f"did:plc:a{i}": {"handle": f"a{i}.test"} for i in range(60)})
    dids = [f"did:plc:a{i}" for i in range(60)]
    found = asyncio.run(AuthorDirectory(appview, plc[0]).authors(dids + dids[:5]))
    assert sorted(len(c) for c in appview.calls) == [10, 25, 25]
    assert [found[d].handle for d in dids] == [f"a{i}.test" for i in range(60)]
