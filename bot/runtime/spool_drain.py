"""The ingest spool as the pipeline uses it: posts go in while the database refuses them, and are
stored, oldest first, as soon as it answers again (bot/storage/spool.py holds the file itself)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence

from bot.storage.backoff import Backoff
from bot.storage.db import DatabaseError
from bot.storage.records import CursorUpdate
from bot.storage.spool import IngestSpool
from moderation.types import Post

log = logging.getLogger(__name__)

Accept = Callable[[Sequence[Post], CursorUpdate | None], Awaitable[list[tuple[int, Post]]]]
Accepted = Callable[[list[tuple[int, Post]]], Awaitable[None]]


class SpoolDrain:
    def __init__(self, spool: IngestSpool, accept: Accept, accepted: Accepted) -> None:
        """`accept` stores posts (and their cursor) in the database; `accepted` hands stored posts on."""
        self.spool = spool
        self._accept = accept
        self._accepted = accepted
        self._task: asyncio.Task[None] | None = None

    @property
    def draining(self) -> bool:
        """The spool holds posts exactly while its drain task runs (it ends when the spool is empty,
        and every put starts it), so this costs no disk read on the ingest path."""
        return self._task is not None and not self._task.done()

    async def resume(self) -> None:
        """At start: store what a previous run left in the spool."""
        if await asyncio.to_thread(self.spool.count) > 0:
            self._start()

    async def take(self, posts: Sequence[Post], cursor: CursorUpdate | None) -> bool:
        """Whether the spool took the posts; False (with why, logged) when it is full or its own
        disk refuses the write."""
        spool = self.spool
        try:
            if await asyncio.to_thread(spool.full):
                log.error("ingest spool full (%d posts at %s)", spool.max_posts, spool.path)
                return False
            await asyncio.to_thread(spool.put, posts, cursor)
        except (sqlite3.Error, OSError) as exc:  # a full disk or a read-only file: wait, lose nothing
            log.error("ingest spool at %s cannot be written: %s", spool.path, exc)
            return False
        self._start()
        return True

    async def stop(self) -> None:
        """Posts still in the spool (the database is still down) stay there for the next start."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _start(self) -> None:
        if not self.draining:
            self._task = asyncio.create_task(self._drain(), name="modbot-ingest-spool")

    async def _drain(self) -> None:
        backoff = Backoff(cap=10.0)
        while (entry := await asyncio.to_thread(self.spool.oldest)) is not None:
            spool_id, posts, cursor = entry
            try:
                accepted = await self._accept(posts, cursor)
            except DatabaseError:
                await backoff.wait()
                continue
            await asyncio.to_thread(self.spool.remove, spool_id)
            backoff.reset()
            await self._accepted(accepted)
        log.info("database back: the posts spooled during the outage are stored")
