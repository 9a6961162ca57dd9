"""What the runtime needs from a platform adapter. Platform objects never cross this edge: adapters
hand over `Post`s and carry out outbox actions described in plain data."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from bot.backoff import Backoff
from bot.storage.db import DatabaseError
from bot.storage.store import ActionRecord, CursorUpdate
from moderation.types import Post

log = logging.getLogger(__name__)
T = TypeVar("T")


class PostSink(Protocol):
    """Where adapters hand posts over (the pipeline). Returns how many were new."""

    async def submit(self, posts: Sequence[Post], cursor: CursorUpdate | None = None) -> int: ...


async def patiently(stopping: asyncio.Event, fn: Callable[..., T], *args: Any) -> T:
    """A store call in a thread that waits out a database outage (retrying with backoff) instead
    of ending the adapter; raises the last error once the adapter is stopping."""
    backoff = Backoff()
    while True:
        try:
            return await asyncio.to_thread(fn, *args)
        except DatabaseError as exc:
            if stopping.is_set():
                raise
            log.error("database unavailable, retrying in %.0f s: %s", backoff.delay, exc)
            await backoff.wait(stopping)


class ActionFailed(Exception):
    """The platform refused or could not take an action. `retryable` says whether trying later may work."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Adapter(Protocol):
    platform: str
    reconnects: int
    """Times the platform connection dropped and was made again since start (for /metrics)."""

    def connected(self) -> bool:
        """Whether the adapter is reading from its platform now (for /readyz)."""
        ...

    async def run(self) -> None:
        """Read posts and submit them until the source ends or `stop()` is called."""
        ...

    def stop(self) -> None: ...

    async def execute(self, action: ActionRecord) -> str:
        """Carry out one action; return what was done. Must be idempotent: after a crash an action
        may run again. Raise ActionFailed when it cannot be done."""
        ...
