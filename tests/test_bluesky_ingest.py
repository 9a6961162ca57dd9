"""Bluesky ingest at scale against the real AT Protocol stack (tests/test_bluesky.py starts it):
authors are looked up only for posts the bot watches, together and cached; posts reach the store a
batch at a time with the cursor; notifications are read completely and once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from atproto import AsyncClient, client_utils, models
from sqlalchemy import text

from bot.adapters.bluesky.adapter import BlueskyAdapter
from bot.storage.db import make_engine
from bot.storage.records import CursorUpdate
from bot.storage.store import Store
from moderation.types import Post, Quarantined
from tests.test_bluesky import eventually, login, modbot_config, post, running, stack

__all__ = ["stack"]  # the module-scoped fixture, shared


class Sink:
    """The PostSink protocol in memory: what the adapter handed over, call by call."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[Post], CursorUpdate | None]] = []
        self.bad: list[Quarantined] = []
        self.cursors: dict[str, str] = {}

    async def submit(self, posts: Sequence[Post], cursor: CursorUpdate | None = None) -> int:
        self.batches.append((list(posts), cursor))
        if cursor is not None:
            self.cursors[cursor.key] = cursor.value
        return len(posts)

    async def quarantine(self, items: Sequence[Quarantined]) -> None:
        self.bad.extend(items)

    async def cursor(self, adapter: str, key: str, stopping: asyncio.Event) -> str | None:
        return self.cursors.get(key)

    async def save_cursor(self, cursor: CursorUpdate) -> None:
        self.cursors[cursor.key] = cursor.value

    @property
    def posts(self) -> list[Post]:
        return [p for batch, _ in self.batches for p in batch]


def test_only_watched_posts_are_looked_up_and_arrive_in_batches(stack: dict[str, Any], tmp_path: Path) -> None:
    """watch = "accounts" (carol): bob's 40 posts cost no lookup; carol's 30 arrive in a few
    batches, each with the cursor, with her handle from one getProfiles call and her account's
    age for the one post with a link."""
    config = modbot_config(stack, tmp_path, "sqlite://").adapters.bluesky.model_copy(
        update={
            "watch": "accounts",
            "watch_accounts": [stack["accounts"]["carol"]["did"]],
            "firehose_start_cursor": None,
        }
    )
    sink = Sink()

    async def go() -> BlueskyAdapter:
        adapter = BlueskyAdapter(config, stack["accounts"]["alice"]["password"], sink)
        running_adapter = asyncio.create_task(adapter.run())
        bob, carol = await login(stack, "bob"), await login(stack, "carol")
        await asyncio.gather(*(post(bob, stack, f"bob says {i}") for i in range(40)))
        await asyncio.gather(*(post(carol, stack, f"carol says {i}") for i in range(29)))
        linked = client_utils.TextBuilder().text("carol says 29 ").link("see", "https://example.test/")
        await carol.send_post(linked, profile_identify=stack["accounts"]["carol"]["did"])
        await eventually(lambda: len(sink.posts) >= 30, what="carol's posts")
        adapter.stop()
        await asyncio.wait_for(running_adapter, 30)
        return adapter

    adapter = asyncio.run(go())
    assert {p.text for p in sink.posts} == {f"carol says {i}" for i in range(29)} | {"carol says 29 see"}
    assert {p.author.handle for p in sink.posts} == {"carol.test"}
    # the account's age is asked of the PLC directory only for the post a rule reads it for (links)
    assert [p.author.account_created_at is not None for p in sink.posts if p.links] == [True]
    assert adapter.authors.lookups == 1  # carol, once; bob never
    assert len(sink.batches) < 30 and all(cursor is not None for _, cursor in sink.batches)


def test_a_burst_of_notifications_is_read_completely_and_history_is_not(
    stack: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """source = "notifications": mentions from before the first start are not acted on; a burst of
    100 replies (more than one page of listNotifications) is read completely, and replies sent
    while modbot is stopped are read after the restart, each once."""
    db_url = f"sqlite:///{tmp_path / 'modbot.db'}"
    config = modbot_config(stack, tmp_path, db_url)
    bluesky = config.adapters.bluesky.model_copy(update={"source": "notifications", "poll_seconds": 1.0})
    config = config.model_copy(update={"adapters": config.adapters.model_copy(update={"bluesky": bluesky})})
    store = Store(make_engine(db_url))

    def stored() -> set[str]:
        with store.engine.connect() as conn:
            try:
                return set(
                    conn.execute(text("SELECT platform_post_id FROM posts WHERE platform = 'bluesky'")).scalars()
                )
            except Exception:
                return set()

    def marked() -> bool:
        try:
            return store.get_cursor("bluesky", f"notifications:{stack['accounts']['alice']['did']}") is not None
        except Exception:  # modbot has not created its tables yet
            return False

    async def notified(alice: AsyncClient, uris: list[str]) -> bool:
        page = await alice.app.bsky.notification.list_notifications({"limit": 100})
        return set(uris) <= {n.uri for n in page.notifications}

    async def go() -> tuple[list[str], list[str], list[str]]:
        alice, bob = await login(stack, "alice"), await login(stack, "bob")
        old = [(await post(bob, stack, f"old question {i}?", mention="alice")).uri for i in range(3)]
        await eventually(lambda: notified(alice, old), what="the old mentions indexed")
        root = await post(alice, stack, "Tell me about your bikes")
        ref = models.AppBskyFeedPost.ReplyRef(
            root=models.create_strong_ref(root), parent=models.create_strong_ref(root)
        )
        async with running(config, monkeypatch, stack):
            await eventually(marked, what="the first poll's mark")
            burst = [(await post(bob, stack, f"my bike number {i}", reply_to=ref)).uri for i in range(100)]
            await eventually(lambda: set(burst) <= stored(), 120, what="all 100 replies stored")
        later = [(await post(bob, stack, f"while you were away {i}", reply_to=ref)).uri for i in range(5)]
        await eventually(lambda: notified(alice, later), what="the later replies indexed")
        async with running(config, monkeypatch, stack):
            await eventually(lambda: set(later) <= stored(), 60, what="the replies sent while stopped")
        return old, burst, later

    old, burst, later = asyncio.run(go())
    assert not set(old) & stored(), "mentions from before the first start were acted on"
    with store.engine.connect() as conn:
        counts = conn.execute(
            text("SELECT platform_post_id, count(*) FROM posts WHERE platform = 'bluesky' GROUP BY platform_post_id")
        ).all()
    assert {uri for uri, _ in counts} == set(burst) | set(later) and {n for _, n in counts} == {1}
