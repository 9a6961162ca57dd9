"""What the Bluesky adapter marks on a post before the pipeline sees it (who the post addresses,
what cannot be done to it), how the planner reads those marks for automatic decisions and
moderators' verdicts, and what its action errors say. No network: the adapter is built offline
and given its account's DID."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

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
