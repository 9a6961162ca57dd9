"""The loop that claims queued drafts, writes them in a thread, stores the outcome and sends what
a community lets go out without review; and `write_queued`, the same loop run once in-process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.assistant.triggers import CommunityReply
from bot.assistant.writer import DraftWriter, GeneratorFactory, build_writer, local_generator, unwritten
from bot.config import Config, ReplyConfig
from bot.ops.metrics import Metrics
from bot.storage.drafts import AUTO_SEND, DraftStore, DraftView
from bot.storage.gateway import DatabaseThread
from bot.storage.records import DraftStatus
from bot.storage.schema import utcnow
from bot.storage.store import Store
from model.knowledge import Embedding
from moderation.decider import Decider
from moderation.types import Author, Decision, Post

log = logging.getLogger(__name__)

Check = Callable[[Sequence[Post]], Awaitable[list[Decision]]]
Db = Callable[..., Awaitable[Any]]


class DraftWorker:
    """Claims queued drafts, writes them in batches in a worker thread, stores the outcome, and
    sends those a community lets go out without review."""

    def __init__(
        self,
        drafts: DraftStore,
        writer: DraftWriter,
        check: Check,
        db: Db,
        cfg: ReplyConfig,
        is_shadow: Callable[[Post], bool],
        on_sent: Callable[[], None] = lambda: None,
        poll_seconds: float = 2.0,
    ) -> None:
        self.drafts = drafts
        self.writer = writer
        self.check = check
        self.db = db
        self.cfg = cfg
        self.is_shadow = is_shadow
        self.on_sent = on_sent
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self.written = 0
        self.metrics: Metrics | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run_until(self, stop: asyncio.Event) -> None:
        requeued = False
        while not stop.is_set():
            try:
                if not requeued:
                    await self.db(self.drafts.requeue_generating)
                    requeued = True
                done = await self.run_once()
            except Exception as exc:  # the database or the model failed: drafts stay queued
                log.error("draft worker paused: %s", exc)
                done = 0
            if done == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def run_once(self) -> int:
        """Write one batch of queued drafts; returns how many."""
        claimed: list[DraftView] = await self.db(self.drafts.claim, self.cfg.batch_size)
        if not claimed:
            return 0
        started = time.perf_counter()
        try:
            jobs = await asyncio.to_thread(self.writer.prepare, claimed)
            version = await asyncio.to_thread(self.writer.generate, jobs)
            checked = [(j, t) for j in jobs if not j.rejected for t in j.texts()]
            decisions = await self.check([_as_bot_post(j.draft.post, t) for j, t in checked])
            scored = {(j.draft.id, t): dict(d.scores) for (j, t), d in zip(checked, decisions, strict=True)}
            outcomes = self.writer.gate(jobs, scored, version)
        except Exception as exc:
            log.error("drafting failed for %d drafts: %s", len(claimed), exc)
            failure = unwritten(DraftStatus.FAILED, [f"{type(exc).__name__}: {exc}"])
            for d in claimed:
                await self.db(self.drafts.finish, d.id, failure)
            return len(claimed)
        for draft, outcome in zip(claimed, outcomes, strict=True):
            await self.db(self.drafts.finish, draft.id, outcome)
            if self.metrics is not None:
                self.metrics.drafts.labels(outcome.status).inc()
            if outcome.status == DraftStatus.PROPOSED:
                await self._maybe_auto_send(draft)
        self.written += len(claimed)
        log.info("wrote %d drafts in %.1f s", len(claimed), time.perf_counter() - started)
        return len(claimed)

    async def _maybe_auto_send(self, draft: DraftView) -> None:
        settings = CommunityReply.resolve(self.cfg, draft.post.community)
        if not settings.auto_send or self.is_shadow(draft.post):
            return
        sent = await self.db(self.drafts.auto_sent_since, draft.post.community, utcnow() - timedelta(hours=1))
        if sent >= self.cfg.auto_send_per_hour:
            log.warning(
                "community %s reached auto_send_per_hour (%d): draft %d waits for a moderator",
                draft.post.community,
                self.cfg.auto_send_per_hour,
                draft.id,
            )
            return
        await self.db(self.drafts.decide, draft.id, "approve", AUTO_SEND, "auto-send", None, None)
        self.on_sent()


def _as_bot_post(post: Post, text: str) -> Post:
    """The draft as a post by the bot, so the filter scores it like any other post."""
    return replace(post, id=f"{post.id}#draft", text=text, author=Author(id="modbot"), links=(), mentions=())


async def write_queued(
    config: Config,
    store: Store,
    decider: Decider,
    embedder: Embedding | None,
    generator: GeneratorFactory = local_generator,
) -> int:
    """Write every queued draft now, in this process (`modbot drafts --write`, and tests): the same
    worker the service runs, with `decider` (the configured filter) as the gate and `embedder`
    (the one its scorers share, if any) for the knowledge folders."""

    async def check(posts: Sequence[Post]) -> list[Decision]:
        return [d for d, _ in await asyncio.to_thread(decider.decide, posts, False)]

    db = DatabaseThread()
    writer = build_writer(config.reply, config.data.dir, store, embedder, generator)
    worker = DraftWorker(DraftStore(store), writer, check, db, config.reply, lambda p: decider.rules_for(p).shadow)
    try:
        await db(worker.drafts.requeue_generating)
        total = 0
        while done := await worker.run_once():
            total += done
        return total
    finally:
        db.close()
