"""Comments to decisions for the API: requests are gathered into micro-batches (the models are
many times faster on a batch than one text at a time) and decided on one scoring thread by the
same Decider the pipeline runs, so an API score is the score a post with that text would get."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from moderation.decider import Decider
from moderation.types import Author, Decision, Post

PLATFORM = "api"
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+|\n+|$)")


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, in code points, ends exclusive, without surrounding spaces:
    Perspective's spans are per sentence."""
    out = []
    for match in _SENTENCE.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append((start, end))
    return out


def api_post(text: str, community: str, ident: str, now: datetime) -> Post:
    return Post(PLATFORM, community, "api", ident, Author("api", anonymous=True), text, now, time_known=False)


@dataclass
class _Job:
    texts: Sequence[str]
    done: asyncio.Future[list[Decision]]


class Scoring:
    """One thread deciding batches; `decide` awaits its texts' decisions."""

    def __init__(
        self, decider: Decider, batch_size: int, batch_wait_ms: float, thread: ThreadPoolExecutor | None = None
    ) -> None:
        """`thread`: where batches are decided; the service passes the pipeline's scoring thread, so
        the models are never run from two threads at once."""
        self.decider = decider
        self.batch_size = batch_size
        self.wait = batch_wait_ms / 1000
        self._queue: asyncio.Queue[_Job] | None = None
        self._own = thread is None
        self._thread = thread or ThreadPoolExecutor(1, thread_name_prefix="api-scoring")
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    async def decide(self, texts: Sequence[str]) -> list[Decision]:
        loop = asyncio.get_running_loop()
        if self._queue is None or self._task is None or self._task.done():  # first use, or the loop died
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._batches(self._queue), name="api-batches")
        job = _Job(texts, loop.create_future())
        await self._queue.put(job)
        return await job.done

    async def _batches(self, queue: asyncio.Queue[_Job]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await queue.get()]
            deadline = loop.time() + self.wait
            while sum(len(j.texts) for j in jobs) < self.batch_size:
                left = deadline - loop.time()
                try:
                    jobs.append(await asyncio.wait_for(queue.get(), left) if left > 0 else queue.get_nowait())
                except (TimeoutError, asyncio.QueueEmpty):
                    break
            texts = [t for j in jobs for t in j.texts]
            try:
                decided = await loop.run_in_executor(self._thread, self._decide, texts)
            except BaseException as exc:  # one bad batch fails its requests, never the API
                for job in jobs:
                    if not job.done.done():
                        job.done.set_exception(exc if isinstance(exc, Exception) else RuntimeError("stopped"))
                if not isinstance(exc, Exception):
                    raise
                continue
            start = 0
            for job in jobs:
                if not job.done.done():
                    job.done.set_result(decided[start : start + len(job.texts)])
                start += len(job.texts)

    def _decide(self, texts: list[str]) -> list[Decision]:
        now = datetime.now(UTC)
        posts = [api_post(t, "api", str(i), now) for i, t in enumerate(texts)]
        self.batches += 1
        # the server accepted these as English (or refused them): read them all, as asked
        return [d for d, _ in self.decider.decide(posts, count=False, route=False)]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        while self._queue is not None and not self._queue.empty():  # nobody waits forever
            job = self._queue.get_nowait()
            if not job.done.done():
                job.done.set_exception(RuntimeError("the scoring API is stopping"))
        if self._own:
            self._thread.shutdown(wait=True)
