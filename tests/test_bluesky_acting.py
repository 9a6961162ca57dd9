"""What modbot does on the network, on the real AT Protocol stack (tests/test_bluesky.py starts it).

A moderator's verdict acts: with the default thresholds abuse is only flagged, and the case's
`remove` verdict must hide, report and label on Bluesky (issue #24: it failed with "Bluesky has no
action 'remove'").

SIGTERM with thousands of actions queued at the platform's rate limit (issue #24: still running
2.5 minutes after SIGTERM, past the unit's stop timeout): the process exits within its stop time,
the queued actions stay in the outbox, and the next start carries them out.

A PDS outage, as issue #24 saw it: the SDK redials by itself, so without care the outage showed
nowhere and the actions gave up after about 15 s. Here both of modbot's roads to the PDS (the
firehose and the XRPC service) run through proxies that refuse connections for a while, and the
test asserts what an operator needs: /readyz says not connected, /metrics counts the reconnects
and the frames read, a post made during the outage is decided once the firehose is back, and its
actions, failing while the PDS still refuses modbot, are retried until they are done on the
network."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from atproto import models
from sqlalchemy import text

from bot.review import Verdicts, resolve_case
from bot.runtime.wiring import planner
from bot.storage.db import make_engine, upgrade
from bot.storage.store import Store
from moderation.actions import ActionSpec
from moderation.types import Author, Decision, Outcome, Post
from tests.bluesky_run import run_config, start_run
from tests.fakes.tcp_proxy import TcpProxy
from tests.test_bluesky import (
    ABUSE,
    action_rows,
    action_states,
    eventually,
    login,
    modbot_config,
    post,
    running,
    stack,
)

__all__ = ["stack"]  # the stack fixture (module-scoped: this module starts a stack of its own)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _retrying(actions: dict[str, tuple[str, int]]) -> bool:
    return len(actions) == 3 and all(state == "pending" and attempts >= 2 for state, attempts in actions.values())


def test_a_pds_outage_shows_and_the_actions_complete_after_it(
    stack: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = f"sqlite:///{tmp_path / 'modbot.db'}"
    store = Store(make_engine(db_url))
    health = f"http://127.0.0.1:{_free_port()}"

    async def get(path: str) -> httpx.Response | None:
        async with httpx.AsyncClient() as http:
            try:
                return await http.get(health + path)
            except httpx.ConnectError:  # the health server is not listening yet
                return None

    async def ready() -> bool:
        answer = await get("/readyz")
        return answer is not None and answer.status_code == 200

    async def not_connected() -> bool:
        answer = await get("/readyz")
        return answer is not None and answer.status_code == 503 and "adapter bluesky: not connected" in answer.text

    async def metric(name: str) -> float:
        answer = await get("/metrics")
        assert answer is not None
        for line in answer.text.splitlines():
            if line.startswith(f'{name}{{platform="bluesky"}}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    async def go() -> None:
        alice, bob = await login(stack, "alice"), await login(stack, "bob")
        root = await post(alice, stack, "The thread where the outage happens")
        root_ref = models.create_strong_ref(root)
        pds = int(stack["pds"].rsplit(":", 1)[1])
        firehose, service = TcpProxy(pds), TcpProxy(pds)
        await firehose.start()
        await service.start()
        config = modbot_config(
            stack,
            tmp_path,
            db_url,
            firehose=f"ws://127.0.0.1:{firehose.port}/xrpc",
            service=f"http://127.0.0.1:{service.port}",
            extra={
                "health": {"enabled": True, "port": int(health.rsplit(":", 1)[1])},
                "executor": {"backoff_seconds": 0.2, "max_backoff_seconds": 1.0},
            },
        )
        async with running(config, monkeypatch, stack):
            await eventually(ready, what="ready before the outage")
            before = await metric("modbot_adapter_reconnects")
            frames = await metric("modbot_adapter_frames")
            firehose.down()
            service.down()
            await eventually(not_connected, 30, what="/readyz saying not connected")
            abuse = await post(  # straight to the PDS: only modbot's roads are cut
                bob, stack, ABUSE, reply_to=models.AppBskyFeedPost.ReplyRef(root=root_ref, parent=root_ref)
            )
            firehose.up()  # the stream is back; the XRPC service still refuses modbot
            await eventually(
                lambda: _retrying(action_rows(store, abuse.uri)),
                60,
                what="the abuse decided and its actions failing, waiting to be retried",
            )
            service.up()
            await eventually(
                lambda: action_states(store, abuse.uri) == {"hide_reply": "done", "report": "done", "label": "done"},
                60,
                what="the actions done after the outage",
            )
            await eventually(ready, 30, what="ready again")
            assert await metric("modbot_adapter_reconnects") > before
            assert await metric("modbot_adapter_frames") > frames > 0  # the firehose's rate is read
        await firehose.stop()
        await service.stop()

        gate = await alice.com.atproto.repo.get_record(  # done on the network, not just in the outbox
            {
                "repo": stack["accounts"]["alice"]["did"],
                "collection": "app.bsky.feed.threadgate",
                "rkey": root.uri.rsplit("/", 1)[-1],
            }
        )
        assert abuse.uri in gate.value.hidden_replies

    asyncio.run(go())


def test_a_moderator_s_remove_verdict_acts_on_bluesky(
    stack: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = f"sqlite:///{tmp_path / 'modbot.db'}"
    store = Store(make_engine(db_url))
    # the abuse model's default for abuse: flag for a human, act on nothing (the profanity scorer
    # stands in for it here, as the runtime tests load no model)
    config = modbot_config(stack, tmp_path, db_url, extra={"policy": {"thresholds": {"profanity": {"flag": 0.8}}}})

    async def go() -> None:
        alice, carol = await login(stack, "alice"), await login(stack, "carol")
        root = await post(alice, stack, "The thread where a moderator decides")
        root_ref = models.create_strong_ref(root)
        async with running(config, monkeypatch, stack):
            abuse = await post(
                carol, stack, ABUSE, reply_to=models.AppBskyFeedPost.ReplyRef(root=root_ref, parent=root_ref)
            )
            # the stream replays from seq 0: earlier tests' posts have their cases too
            [case] = await eventually(
                lambda: [c for c in store.cases(limit=1000) if c.post.id == abuse.uri], what="the post's case"
            )
            assert case.decision.outcome.value == "flag" and action_rows(store, abuse.uri) == {}  # nothing done yet
            verdicts = Verdicts(config.build_policy(), planner(config))
            resolve_case(store, verdicts, case.id, "remove", "mod-anna", origin="cli", note="abuse")
            await eventually(
                lambda: action_states(store, abuse.uri) == {"hide_reply": "done", "report": "done", "label": "done"},
                what="the verdict's actions done",
            )

        gate = await alice.com.atproto.repo.get_record(
            {
                "repo": stack["accounts"]["alice"]["did"],
                "collection": "app.bsky.feed.threadgate",
                "rkey": root.uri.rsplit("/", 1)[-1],
            }
        )
        assert abuse.uri in gate.value.hidden_replies
        ozone = alice.with_proxy("atproto_labeler", stack["ozone"]["did"])
        statuses = await ozone.tools.ozone.moderation.query_statuses({"subject": abuse.uri})
        assert [s.subject.uri for s in statuses.subject_statuses] == [abuse.uri]  # reported to Ozone

    asyncio.run(go())


QUEUED = 3000


def _queue_reports(store: Store, subject: Any, author: str) -> None:
    """QUEUED report actions, one per stored post, each about `subject` (a real post): what a
    flood of decisions leaves in the outbox at 30 actions a minute."""
    now = datetime.now(UTC)
    ref = {"uri": subject.uri, "cid": subject.cid, "repo": author}
    posts = [
        Post("bluesky", "flood", "feed", f"{subject.uri}#copy{i}", Author(author), "spam", now, platform_ref=ref)
        for i in range(QUEUED)
    ]
    accepted = store.accept(posts)
    decision = Decision(Outcome.REMOVE, {"spam": 1.0}, {"rules": {"spam": 1.0}}, (), {"rules": "1"}, "p", False, "x")
    spec = [ActionSpec("report", {"category": "spam", "reason": "flood"})]
    store.record([(row, post, decision, spec) for row, post in accepted])


def _states(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT state, count(*) FROM actions GROUP BY state")).all()
    return {state: int(n) for state, n in rows}


def test_sigterm_with_thousands_of_queued_actions_stops_on_time_and_the_next_start_runs_them(
    stack: dict[str, Any], tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'modbot.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    store = Store(engine)
    bluesky = modbot_config(stack, tmp_path, db_url).adapters.bluesky

    def write_config(per_minute: int) -> Path:
        return run_config(
            tmp_path,
            db_url,
            f"""plc_directory = "{bluesky.plc_directory}"
service = "{bluesky.service}"
handle = "{bluesky.handle}"
firehose_url = "{bluesky.firehose_url}"
watch = "mentions"
moderation_service_did = "{bluesky.moderation_service_did}"
actions_per_minute = {per_minute}""",
            "[executor]\nstop_seconds = 5.0",
        )

    async def go() -> None:
        bob = await login(stack, "bob")
        subject = await post(bob, stack, "buy cheap followers now, link in bio")
        _queue_reports(store, subject, stack["accounts"]["bob"]["did"])
        # two seconds between actions: the whole queue would take 100 minutes
        first = start_run(write_config(30), stack)
        await eventually(lambda: _states(store).get("done", 0) >= 2, 90, what="the first reports sent")
        signalled = time.monotonic()
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0
        took = time.monotonic() - signalled
        assert took < 30, f"SIGTERM took {took:.1f} s with {QUEUED} actions queued (stop_seconds = 5)"
        after_first = _states(store)
        assert after_first.get("running", 0) == 0 and after_first.get("failed", 0) == 0
        assert after_first["pending"] + after_first["done"] == QUEUED  # nothing lost, nothing given up

        second = start_run(write_config(3000), stack)  # the most allowed
        try:
            await eventually(
                lambda: _states(store).get("done", 0) >= after_first["done"] + 20, 90, what="the next start's reports"
            )
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=60) == 0
        final = _states(store)
        assert final.get("failed", 0) == 0 and final["pending"] + final["done"] == QUEUED

    asyncio.run(go())
