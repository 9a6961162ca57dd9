"""The one thread every database call of a process runs on.

The event loop must never wait on the database, and SQLite has one writer anyway: one thread keeps
the calls of ingest, decisions, the outbox, the dashboard and the adapters' cursors in the order
they were made, so no two of them contend for a lock. `patiently` is the same call for a caller
that should wait out an outage (an adapter reading its cursor) instead of failing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from bot.storage.backoff import Backoff
from bot.storage.db import DatabaseError

log = logging.getLogger(__name__)
T = TypeVar("T")


class DatabaseThread:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="modbot-db")

    async def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def patiently(self, stopping: asyncio.Event, fn: Callable[..., T], *args: Any) -> T:
        """The call, retried with backoff while the database is unavailable; raises the last
        error once `stopping` is set."""
        backoff = Backoff()
        while True:
            try:
                return await self(fn, *args)
            except DatabaseError as exc:
                if stopping.is_set():
                    raise
                log.error("database unavailable, retrying in %.0f s: %s", backoff.delay, exc)
                await backoff.wait(stopping)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
