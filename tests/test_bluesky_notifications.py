"""Paging through the bot's notifications (bot/adapters/bluesky/notifications.py), table-driven
over a listNotifications stand-in that pages as the AppView does (newest first, a cursor to the
next page). The real AppView is exercised in tests/test_bluesky.py; this covers the edges a local
stack cannot be made to show cheaply (a mark in the middle of a page, the page cap)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot.adapters.bluesky import notifications
from bot.adapters.bluesky.notifications import unread

START = datetime(2026, 12, 1, tzinfo=UTC)


def _stamp(i: int) -> str:
    # the AppView's strings vary in their fraction digits; instant() must not care
    return (START + timedelta(seconds=i)).isoformat().replace("+00:00", "Z" if i % 2 else ".000Z")


class AppView:
    """`count` notifications, the i-th indexed i seconds after START, every tenth a like."""

    def __init__(self, count: int) -> None:
        self.all = [
            SimpleNamespace(uri=f"at://n/{i}", reason="like" if i % 10 == 9 else "reply", indexed_at=_stamp(i))
            for i in reversed(range(count))
        ]
        self.pages = 0
        self.app = SimpleNamespace(bsky=SimpleNamespace(notification=SimpleNamespace(list_notifications=self.list)))

    async def list(self, params: dict[str, Any]) -> Any:
        self.pages += 1
        start = int(params.get("cursor", 0))
        end = start + params["limit"]
        return SimpleNamespace(notifications=self.all[start:end], cursor=str(end) if end < len(self.all) else None)


@pytest.mark.parametrize(
    ("count", "mark", "backfill", "read", "pages"),
    [
        (250, None, False, [], 1),  # first start: the mark only, history is not acted on
        (250, None, True, list(range(250)), 3),  # first start asked to backfill: all of it
        (250, 240, False, list(range(241, 250)), 1),  # the mark inside the first page
        (250, 100, False, list(range(101, 250)), 2),  # a burst over a page: read to the mark
        (250, 249, False, [], 1),  # nothing new
        (0, None, False, [], 1),
    ],
)
def test_unread_pages_back_to_the_mark(
    count: int, mark: int | None, backfill: bool, read: list[int], pages: int
) -> None:
    view = AppView(count)
    found = asyncio.run(unread(view, _stamp(mark) if mark is not None else None, backfill))
    assert [n.uri for n in found.notifications] == [f"at://n/{i}" for i in read if i % 10 != 9]  # oldest first
    assert found.mark == (_stamp(count - 1) if count else None) and found.complete
    assert view.pages == pages


def test_a_backlog_past_the_page_cap_is_said_to_be_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notifications, "MAX_PAGES", 2)
    found = asyncio.run(unread(AppView(500), _stamp(10), False))
    assert not found.complete and found.mark == _stamp(499)
    assert len(found.notifications) == 180  # the newest 200, less their likes
