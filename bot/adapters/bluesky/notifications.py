"""Reading the bot account's notifications completely: page back from the newest to the last one
already handled, and hand them over oldest first.

listNotifications answers newest first, 100 at most a page, so a poll that reads only the first
page misses the rest of a burst (5 of an 81-reply burst were lost that way). The mark is the
`indexedAt` of the newest notification handled, stored like the firehose cursor, in the same
transaction as the posts it covers. modbot keeps its own mark rather than the account's `seenAt`,
which the account's owner moves whenever they open the app.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

PAGE = 100
"""listNotifications' largest page"""
MAX_PAGES = 50
"""a poll reads at most 5,000 notifications back; older ones than that are not read, and the
adapter logs how far it got"""
REASONS = ("mention", "reply", "quote")
"""the notifications that carry a post addressed to the bot"""


class Notification(Protocol):
    uri: str
    cid: str
    reason: str
    indexed_at: str
    author: Any
    record: Any


def instant(stamp: str) -> datetime:
    """`indexedAt` as a time (the AppView's strings differ in their fraction digits)."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True)
class Unread:
    notifications: list[Notification]
    """addressed to the bot (REASONS), oldest first"""
    mark: str | None
    """the newest `indexedAt` seen"""
    complete: bool
    """False when MAX_PAGES ran out before the old mark was reached"""


async def unread(client: Any, mark: str | None, backfill: bool) -> Unread:
    """The notifications after `mark`, oldest first, and the new mark.
    With no mark (the first start) only the mark is taken, unless `backfill` asks for everything
    the AppView still holds: a bot must not answer a month of old mentions the moment it starts."""
    after = instant(mark) if mark else None
    found: list[Notification] = []
    newest = mark
    cursor: str | None = None
    complete = False
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
        page = await client.app.bsky.notification.list_notifications(params)
        notifications: Sequence[Notification] = page.notifications
        if notifications and (newest is None or instant(notifications[0].indexed_at) > instant(newest)):
            newest = notifications[0].indexed_at
        older = [n for n in notifications if after is None or instant(n.indexed_at) > after]
        found.extend(older)
        reached = len(older) < len(notifications)
        if reached or (after is None and not backfill) or not page.cursor or not notifications:
            complete = True
            break
        cursor = page.cursor
    if after is None and not backfill:
        return Unread([], newest, True)
    found.sort(key=lambda n: instant(n.indexed_at))
    return Unread([n for n in found if n.reason in REASONS], newest, complete)
