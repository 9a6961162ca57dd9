"""What the Bluesky adapter marks on a post before the pipeline sees it (who the post addresses,
what cannot be done to it), how the planner reads those marks for automatic decisions and
moderators' verdicts, and what its action errors say. No network: the adapter is built offline
and given its account's DID."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.adapters.bluesky.adapter import BlueskyAdapter
from bot.config.adapters import BlueskyConfig
from moderation.actions import ActionPlanner
from moderation.policy import PolicyRules
from moderation.types import Author, Decision, Outcome, Post

BOT = "did:plc:bot"
OTHER = "did:plc:someone"


def _post(mentions: tuple[str, ...] = (), reply_to: str | None = None, root: str | None = None) -> Post:
    return Post(
        "bluesky", "bsky", "feed", f"at://{OTHER}/app.bsky.feed.post/1", Author(OTHER), "is the meetup on?",
        datetime.now(UTC), mentions=mentions, reply_to=reply_to, thread_root=root,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("post", "marks"),
    [
        (_post(mentions=(BOT,)), {"asks_bot": True, "mentions_bot": True, "impossible": ["hide_reply"]}),
        (
            _post(reply_to=f"at://{BOT}/app.bsky.feed.post/r", root=f"at://{BOT}/app.bsky.feed.post/r"),
            {"asks_bot": True},  # a reply in the bot's own thread: it may hide it
        ),
        (
            _post(reply_to=f"at://{OTHER}/app.bsky.feed.post/p", root=f"at://{OTHER}/app.bsky.feed.post/r"),
            {"impossible": ["hide_reply"]},
        ),
        (_post(), {"impossible": ["hide_reply"]}),
    ],
)
def test_the_adapter_marks_who_a_post_addresses_and_what_cannot_be_done(post: Post, marks: dict[str, object]) -> None:
    adapter = BlueskyAdapter(BlueskyConfig(enabled=False), "", sink=None)  # type: ignore[arg-type]
    adapter.did = BOT
    assert adapter._marked(post).platform_ref == marks


@pytest.mark.parametrize(
    ("ref", "expected"), [({"impossible": ["hide_reply"]}, ["report"]), ({}, ["hide_reply", "report"])]
)
def test_the_planner_leaves_out_what_the_platform_cannot_do(ref: dict[str, object], expected: list[str]) -> None:
    planner = ActionPlanner({"bluesky": {Outcome.REMOVE: ("hide_reply", "report")}})
    post = replace(_post(), platform_ref=ref)
    decision = Decision(Outcome.REMOVE, {}, {}, (), {}, "p", False, "")
    assert [a.kind for a in planner.plan(post, decision, PolicyRules(thresholds={}))] == expected
    assert [a.kind for a in planner.for_verdict(post, "remove", PolicyRules(thresholds={}))] == expected


def test_an_action_error_always_says_what_went_wrong() -> None:
    import httpx
    from atproto_client.exceptions import NetworkError

    from bot.adapters.bluesky.adapter import why

    try:
        try:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        except httpx.ConnectError as cause:
            raise NetworkError() from cause
    except NetworkError as exc:
        assert str(exc) == ""  # what the SDK gives
        assert why(exc) == "NetworkError: ConnectError: [Errno 111] Connection refused"
    assert why(NetworkError()) == "NetworkError"
    assert why(ValueError("bad record")) == "bad record"


def test_every_dial_after_the_first_is_a_reconnect_the_adapter_sees() -> None:
    """A local websocket server that drops each connection at once: the SDK redials by itself,
    and the adapter counts each redial and reads as disconnected."""
    import asyncio

    from websockets.asyncio.server import serve

    from bot.adapters.bluesky.dialing import DialingClient

    adapter = BlueskyAdapter(BlueskyConfig(enabled=False), "", sink=None)  # type: ignore[arg-type]
    adapter._connected = True

    async def drop(connection: Any) -> None:
        await connection.close(code=1011, reason="going down")  # an error close: the SDK redials

    async def go() -> None:
        async with serve(drop, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            client = DialingClient(None, f"ws://127.0.0.1:{port}", adapter._dialing)
            task = asyncio.create_task(client.start(lambda frame: asyncio.sleep(0)))
            for _ in range(200):
                if adapter.reconnects >= 1:
                    break
                await asyncio.sleep(0.05)
            await client.stop()
            await asyncio.wait_for(task, 10)

    asyncio.run(go())
    assert adapter.reconnects >= 1 and not adapter.connected()


@pytest.mark.parametrize(
    ("time", "lag"),
    [
        ("2026-12-07T10:00:00.000Z", 90.0),
        ("2026-12-07T10:01:30Z", 0.0),
        ("2026-12-07T10:02:00+00:00", 0.0),
        (None, None),
        ("soon", None),
    ],
)
def test_lag_is_read_from_a_commits_time(time: object, lag: float | None) -> None:
    from bot.adapters.bluesky.dialing import lag_of

    assert lag_of(time, datetime(2026, 12, 7, 10, 1, 30, tzinfo=UTC)) == lag


def test_a_connection_reset_while_acting_is_a_retryable_failure_that_says_so() -> None:
    """The SDK lets httpx's RemoteProtocolError through unwrapped when the server resets the
    connection: it must become the adapter's retryable ActionFailed, named, like any outage."""
    import asyncio
    from types import SimpleNamespace

    import httpx

    from bot.adapters.base import ActionFailed
    from bot.storage.records import ActionRecord

    async def reset(_: Any) -> None:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    moderation = SimpleNamespace(
        com=SimpleNamespace(atproto=SimpleNamespace(moderation=SimpleNamespace(create_report=reset)))
    )
    adapter = BlueskyAdapter(BlueskyConfig(enabled=False, actions_per_minute=3000), "", sink=None)  # type: ignore[arg-type]
    adapter.did, adapter.client = BOT, SimpleNamespace(with_proxy=lambda *_: moderation)
    ref = {"uri": f"at://{OTHER}/app.bsky.feed.post/1", "cid": "bafy", "repo": OTHER}
    action = ActionRecord(1, 1, None, "bluesky", "report", {"category": "spam"}, "running", 1, None, ref)
    with pytest.raises(ActionFailed) as caught:
        asyncio.run(adapter.execute(action))
    assert caught.value.retryable
    assert str(caught.value) == "Bluesky report failed: Server disconnected without sending a response."


def test_the_firehose_redials_at_most_15_seconds_apart() -> None:
    """The SDK's own back-off grows to 64 s; after an outage that is a minute of posts unread once
    the PDS is back. The cap is the SDK's attribute, so a release that renames it shows here."""
    from bot.adapters.bluesky.dialing import MAX_REDIAL_SECONDS, DialingClient

    client = DialingClient(None, "ws://127.0.0.1:9", lambda first: None)
    client._reconnect_no = 10  # 2**10 s uncapped
    assert max(client._get_reconnection_delay() for _ in range(50)) <= MAX_REDIAL_SECONDS + 0.5
