"""Post -> stored -> normalised -> embedded once -> scored -> decided -> recorded, micro-batched.

Models are much faster on batches and must never block the event loop, so posts wait here up to
`batch_wait_ms` for company, then a batch is scored in a worker thread. Database work runs on one
dedicated thread: SQLite has one writer anyway, and ordering stays easy to reason about.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bot.ops.metrics import Metrics
from bot.runtime.spool_drain import SpoolDrain
from bot.runtime.stream import PostStream, StreamError
from bot.runtime.wiring import run_time_settings
from bot.storage.backoff import Backoff
from bot.storage.db import DatabaseError
from bot.storage.gateway import DatabaseThread
from bot.storage.quarantine import QuarantineStore
from bot.storage.records import CursorUpdate, PostStatus
from bot.storage.spool import IngestSpool
from bot.storage.store import Store
from model.community import CommunityFolder
from moderation.actions import ActionSpec
from moderation.decider import Decider
from moderation.types import Decision, Post, Quarantined

log = logging.getLogger(__name__)
_IN_FLIGHT = 2


@dataclass(frozen=True, slots=True)
class Decided:
    post_row: int
    post: Post
    decision: Decision
    decision_id: int


class Pipeline:
    def __init__(
        self,
        store: Store,
        decider: Decider,
        batch_size: int = 32,
        batch_wait_ms: int = 50,
        queue_size: int = 1000,
        retry_failed_seconds: float = 300.0,
        spool_limit: int = 10_000,
        stream: PostStream | None = None,
        ingest_spool: IngestSpool | None = None,
        communities: CommunityFolder | None = None,
    ) -> None:
        self.store = store
        self.communities = communities
        """where the communities' own models are, followed while running"""
        self.stream = stream
        """Set for `--role ingest`: accepted posts go to the Redis Stream for workers, not to the local queue."""
        self.retry_failed_seconds = retry_failed_seconds
        self.decider = decider
        self.batch_size = batch_size
        self.batch_wait = batch_wait_ms / 1000
        self._queue: asyncio.Queue[tuple[int, Post]] = asyncio.Queue(maxsize=queue_size)
        self.db = DatabaseThread()
        """every store call of the service runs here (bot/storage/gateway.py)"""
        self.scoring_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="modbot-score")
        self._listeners: list[Callable[[Sequence[Decided]], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._retry_task: asyncio.Task[None] | None = None
        self._settings_task: asyncio.Task[None] | None = None
        self._writes: set[asyncio.Task[None]] = set()
        self.spool_limit = spool_limit
        self._spool: list[list[tuple[int, Post, Decision, list[ActionSpec]]]] = []
        """Decided batches the database refused, oldest first; written when it answers again."""
        self._spool_task: asyncio.Task[None] | None = None
        self.ingest_spool = ingest_spool
        self._spool_drain = (
            SpoolDrain(ingest_spool, lambda posts, cursor: self.db(self.store.accept, posts, cursor), self._accepted)
            if ingest_spool is not None
            else None
        )
        self._ingest_stopped = False
        self.decided_count = 0
        self.failed_count = 0
        self.metrics: Metrics | None = None
        self.paused: str | None = None
        """Why ingest waits (the database refuses writes and the spool cannot take the posts: a
        full disk, a read-only file), for /readyz; None while posts are accepted."""

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def queue_depth(self) -> int:
        return self._queue.qsize()

    def on_decided(self, listener: Callable[[Sequence[Decided]], None]) -> None:
        self._listeners.append(listener)

    async def cursor(self, adapter: str, key: str, stopping: asyncio.Event) -> str | None:
        return await self.db.patiently(stopping, self.store.get_cursor, adapter, key)

    async def save_cursor(self, cursor: CursorUpdate) -> None:
        await self.db(self.store.set_cursor, cursor)

    def start(self) -> None:
        self._task = asyncio.create_task(self._batches(), name="modbot-pipeline")
        if self.retry_failed_seconds > 0:
            self._retry_task = asyncio.create_task(self._retry_failed(), name="modbot-retry")
        self._settings_task = asyncio.create_task(self._follow_settings(), name="modbot-settings")

    async def _follow_settings(self, every: float = 15.0) -> None:
        """What moderators change at run time from another process (an accepted threshold on the
        dashboard, shadow mode) reaches this one's decisions within `every` seconds."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.db(run_time_settings, self.store, self.decider, self.communities)
            except Exception as exc:  # the database is down: the settings it had stand
                log.warning("could not read moderators' run-time settings: %s", exc)

    async def _retry_failed(self) -> None:
        """Posts whose scoring failed (a model error, a full disk) are tried again while running,
        not only at the next start; the store's guard keeps a post from being decided twice."""
        while True:
            await asyncio.sleep(self.retry_failed_seconds)
            try:
                failed = await self.db(self.store.pending, 10_000, (PostStatus.FAILED,))
            except Exception as exc:  # the database is down: try again next round
                log.warning("could not look for failed posts to retry: %s", exc)
                continue
            if failed:
                log.info("retrying %d posts whose scoring failed", len(failed))
            await self._enqueue(failed)

    async def resume_pending(self) -> int:
        """Queue posts a previous run accepted but never decided (and store what its ingest spool
        still held)."""
        if self._spool_drain is not None:
            await self._spool_drain.resume()
        pending = await self.db(self.store.pending, 100_000)
        await self._enqueue(pending)
        if pending:
            log.info("resuming %d accepted but undecided posts", len(pending))
        return len(pending)

    async def quarantine(self, items: Sequence[Quarantined]) -> None:
        """Keep what an adapter could not turn into a post (bot/storage/quarantine.py). Never raises:
        with the database down the items are logged, and the source still moves past them."""
        for item in items:
            log.warning("quarantined %s %s at %s: %s", item.platform, item.source, item.position, item.reason)
        if not items:
            return
        try:
            await self.db(QuarantineStore(self.store).put, items)
        except DatabaseError as exc:
            log.error("could not store %d quarantined items (logged above): %s", len(items), exc)
        if self.metrics is not None:
            for item in items:
                self.metrics.quarantined.labels(item.platform).inc()

    async def submit(self, posts: Sequence[Post], cursor: CursorUpdate | None = None) -> int:
        """Store posts (and the adapter's cursor) durably, then queue the new ones for deciding.
        Once this returns the posts are accepted: a crash after it loses none of them. While the
        database is down they go to the local ingest spool (durable too) and are stored when it
        returns; with no spool, or a full one, this waits, retrying with backoff, so the adapter
        acknowledges nothing (its cursor does not move). `stop_ingest` makes it give up instead."""
        backoff = Backoff()
        while True:
            try:
                if self._spool_drain and self._spool_drain.draining:  # keep arrival order behind the outage
                    raise DatabaseError("posts from the outage are still being stored")
                accepted = await self.db(self.store.accept, posts, cursor)
                break
            except DatabaseError as exc:
                if self._ingest_stopped:
                    raise
                if self._spool_drain and await self._spool_drain.take(posts, cursor):
                    self.paused = None
                    return len(posts)
                self.paused = f"cannot store posts: {exc}"[:300]
                log.error("ingest paused, retry in %.0f s (nothing acknowledged): %s", backoff.delay, exc)
                await backoff.wait()
        if self.paused is not None:
            log.info("ingest resumed: the database takes posts again")
            self.paused = None
        await self._accepted(accepted)
        return len(accepted)

    async def _accepted(self, accepted: list[tuple[int, Post]]) -> None:
        if self.metrics is not None:
            for _, post in accepted:
                self.metrics.posts.labels(post.platform).inc()
        await self._enqueue(accepted)

    async def _enqueue(self, items: Sequence[tuple[int, Post]]) -> None:
        """To the local scorer (waits when full: back-pressure on the adapter), or to the stream for
        workers, waiting out a Redis outage. Stopping while Redis is down leaves the posts pending
        in the store: ingest appends them again at its next start."""
        if self.stream is None:
            for item in items:
                await self._queue.put(item)
            return
        backoff = Backoff()
        while True:
            try:
                await self.stream.add([row for row, _ in items])
                return
            except StreamError as exc:
                if self._ingest_stopped:
                    log.error("%d stored posts wait for the next start to reach workers: %s", len(items), exc)
                    return
                log.error("cannot hand %d posts to workers, retrying in %.0f s: %s", len(items), backoff.delay, exc)
                await backoff.wait()

    def stop_ingest(self) -> None:
        """Stopping: a submit waiting for the database gives up (its posts are re-read at start)."""
        self._ingest_stopped = True

    @property
    def spooled(self) -> int:
        return sum(len(batch) for batch in self._spool)

    async def check(self, posts: Sequence[Post]) -> list[Decision]:
        """Decide without storing or acting (a moderator's "check this" request)."""
        loop = asyncio.get_running_loop()
        decided = await loop.run_in_executor(self.scoring_thread, self.decider.decide, posts, False)
        return [d for d, _ in decided]

    async def record_external(self, post: Post, decision: Decision, decided_by: str) -> int | None:
        """Log a decision made elsewhere (e.g. by Discord's AutoMod) like one of ours, acting on nothing."""
        accepted = await self.db(self.store.accept, [post])
        if not accepted:
            return None
        [(row, stored)] = accepted
        [decision_id] = await self.db(self.store.record, [(row, stored, decision, [])], decided_by)
        return decision_id

    async def drain(self) -> None:
        """Decide everything accepted so far, then stop the batch loop. Posts still in the ingest
        spool (the database is still down) stay there for the next start."""
        if self._spool_drain is not None:
            await self._spool_drain.stop()
        for task in (self._retry_task, self._settings_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._retry_task = self._settings_task = None
        await self._queue.join()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._spool_task is not None:  # one writer at a time: the final flush takes over
            self._spool_task.cancel()
            await asyncio.gather(self._spool_task, return_exceptions=True)
        if self._spool:
            await self._flush_spool(final=True)

    def close(self) -> None:
        self.db.close()
        self.scoring_thread.shutdown(wait=True)

    async def _batches(self) -> None:
        """Collect batches and score them one after another; each batch's database write runs
        while the next batch is scored (at most _IN_FLIGHT writes pending, in order on the DB thread)."""
        loop = asyncio.get_running_loop()
        in_flight = asyncio.Semaphore(_IN_FLIGHT)
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.batch_wait
            while len(batch) < self.batch_size:
                timeout = deadline - loop.time()
                try:
                    batch.append(
                        self._queue.get_nowait() if timeout <= 0 else await asyncio.wait_for(self._queue.get(), timeout)
                    )
                except (asyncio.QueueEmpty, TimeoutError):
                    break
            if self.spooled >= self.spool_limit:
                log.error(
                    "decision spool full (%d posts) while the database is down: scoring pauses and ingest waits",
                    self.spooled,
                )
                while self.spooled >= self.spool_limit:
                    await asyncio.sleep(0.5)
            await in_flight.acquire()
            try:
                decided = await self._score_batch(batch)
            except BaseException:
                self._done(batch, in_flight)
                raise
            if decided is None:
                self._done(batch, in_flight)
                continue
            task = asyncio.create_task(self._record(batch, decided, in_flight))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    def _done(self, batch: list[tuple[int, Post]], in_flight: asyncio.Semaphore) -> None:
        in_flight.release()
        for _ in batch:
            self._queue.task_done()

    async def _score_batch(self, batch: list[tuple[int, Post]]) -> list[tuple[Decision, list[ActionSpec]]] | None:
        """Decisions for the batch, or None when a scorer broke (the posts are kept as failed)."""
        posts = [p for _, p in batch]
        try:
            return await asyncio.get_running_loop().run_in_executor(self.scoring_thread, self.decider.decide, posts)
        except Exception as exc:  # a scorer broke: keep the posts, say why, carry on
            self.failed_count += len(batch)
            if self.metrics is not None:
                self.metrics.scoring_failures.inc(len(batch))
            log.error("scoring failed for %d posts (kept as failed, retried at next start): %s", len(batch), exc)
            await self.db(self.store.mark_failed, [row for row, _ in batch], f"{type(exc).__name__}: {exc}")
            return None

    async def _record(
        self,
        batch: list[tuple[int, Post]],
        decided: list[tuple[Decision, list[ActionSpec]]],
        in_flight: asyncio.Semaphore,
    ) -> None:
        items = [(row, post, d, list(acts)) for (row, post), (d, acts) in zip(batch, decided, strict=True)]
        try:
            if self._spool:  # keep the order: older decisions first
                raise DatabaseError("older decisions are still waiting in the spool")
            await self._write(items)
        except DatabaseError as exc:
            self._spool.append(items)
            log.error(
                "database unavailable: %d decisions spooled (%d in all) until it returns: %s",
                len(items),
                self.spooled,
                exc,
            )
            if self._spool_task is None or self._spool_task.done():
                self._spool_task = asyncio.create_task(self._flush_spool(), name="modbot-spool")
        except Exception as exc:  # not the database's availability: the posts stay pending for the next start
            log.error("could not record %d decisions (posts stay pending): %s", len(batch), exc)
        finally:
            self._done(batch, in_flight)

    async def _flush_spool(self, final: bool = False, deadline_seconds: float = 30.0) -> None:
        """Write spooled decisions as soon as the database answers. At shutdown (`final`) it tries
        for a while, then leaves the rest: those posts are stored as pending and decided at the
        next start, so nothing is lost either way."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + deadline_seconds
        backoff = Backoff(cap=10.0)
        while self._spool:
            try:
                await self._write(self._spool[0])
            except DatabaseError as exc:
                if final and loop.time() > give_up:
                    log.error(
                        "database still down at exit: %d posts stay pending for the next start (%s)", self.spooled, exc
                    )
                    self._spool.clear()
                    return
                await backoff.wait()
                continue
            self._spool.pop(0)
            backoff.reset()
            if not self._spool:
                log.info("database back: the spooled decisions are written")

    async def _write(self, items: list[tuple[int, Post, Decision, list[ActionSpec]]]) -> None:
        ids = await self.db(self.store.record, items)
        done = [Decided(row, post, d, i) for (row, post, d, _), i in zip(items, ids, strict=True) if i is not None]
        self.decided_count += len(done)
        if self.metrics is not None:
            self.metrics.batch_posts.observe(len(items))
            for d in done:
                self.metrics.decisions.labels(d.decision.outcome.value).inc()
                if d.decision.outcome.needs_review and d.decision.reasons:
                    self.metrics.flags.labels(d.decision.reasons[0].category).inc()
        for listener in self._listeners:
            listener(done)
