"""Past one machine: ingest and scoring as separate processes joined by a Redis Stream.

`modbot run --role ingest` runs the adapters and the action executor: each post is stored in
PostgreSQL first (accepted, pending), then its row id is appended to the stream. `--role worker`
processes form a consumer group: each reads row ids, decides those posts and records the decisions
(the store's guarded update makes that exactly-once per post), and only then acknowledges the
entries. Entries a dead worker had read but not acknowledged are claimed by a live one after
`claim_idle_seconds`. Spam counters live in Redis, so every worker sees every post's counts.
Redis holds no state that matters: on start, ingest appends every post still pending, so a stream
lost with its Redis loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Sequence
from typing import Any

from bot.config import Config, ScaleConfig
from bot.storage.db import DatabaseError
from bot.storage.store import Store

log = logging.getLogger(__name__)


class StreamError(RuntimeError):
    """Redis did not answer; the message says what was being done."""


class PostStream:
    """Row ids of accepted posts in a Redis Stream read by a consumer group."""

    def __init__(self, cfg: ScaleConfig) -> None:
        import redis.asyncio as aioredis

        self.cfg = cfg
        self._redis: Any = aioredis.Redis.from_url(cfg.redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._group_ready = False

    async def _call(self, what: str, coro: Any) -> Any:
        import redis

        try:
            return await coro
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            self._group_ready = False
            raise StreamError(f"redis {what} failed: {exc}") from exc

    async def ensure_group(self) -> None:
        if self._group_ready:
            return
        import redis

        try:
            create = self._redis.xgroup_create(self.cfg.stream, self.cfg.group, "0", mkstream=True)
            await self._call("create group", create)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def add(self, rows: Sequence[int]) -> None:
        if not rows:
            return
        await self.ensure_group()
        pipe = self._redis.pipeline(transaction=False)
        for row in rows:
            pipe.xadd(self.cfg.stream, {"row": str(row)})
        await self._call("append", pipe.execute())

    async def read(self, consumer: str, count: int, block_ms: int) -> list[tuple[str, int]]:
        await self.ensure_group()
        reply = await self._call(
            "read",
            self._redis.xreadgroup(self.cfg.group, consumer, {self.cfg.stream: ">"}, count=count, block=block_ms),
        )
        return [(_text(entry_id), int(fields[b"row"])) for _, entries in reply or [] for entry_id, fields in entries]

    async def reclaim(self, consumer: str, count: int) -> list[tuple[str, int]]:
        """Entries another consumer read but did not acknowledge for claim_idle_seconds."""
        await self.ensure_group()
        idle_ms = int(self.cfg.claim_idle_seconds * 1000)
        reply = await self._call(
            "claim", self._redis.xautoclaim(self.cfg.stream, self.cfg.group, consumer, idle_ms, "0-0", count=count)
        )
        entries = reply[1] if reply else []
        return [(_text(entry_id), int(fields[b"row"])) for entry_id, fields in entries if fields]

    async def ack(self, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            await self._call("acknowledge", self._redis.xack(self.cfg.stream, self.cfg.group, *entry_ids))

    async def pending(self) -> int:
        info = await self._call("pending", self._redis.xpending(self.cfg.stream, self.cfg.group))
        return int(info["pending"] if isinstance(info, dict) else info[0])

    async def close(self) -> None:
        await self._redis.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def run_worker(config: Config, stop: asyncio.Event) -> int:
    """Decide posts from the stream until `stop`; returns how many this worker decided."""
    from bot.pipeline import Decider
    from bot.scorers import build_domain_list, build_scorers, build_spam_rules
    from bot.service import _planner, open_store

    store: Store = await asyncio.to_thread(open_store, config)
    scorers, embedder = await asyncio.to_thread(build_scorers, config.scorers, store)
    spam = build_spam_rules(config.scorers, config.scale.redis_url)
    domains = build_domain_list(config.scorers)
    decider = Decider(scorers, config.build_policy(), embedder, _planner(config), spam, domains)
    decider.shadow_overrides.update(await asyncio.to_thread(store.shadow_overrides))
    stream = PostStream(config.scale)
    consumer = consumer_name()
    batch = config.pipeline.batch_size
    decided = 0
    last_claim = 0.0
    log.info("worker %s reading %s as group %s", consumer, config.scale.stream, config.scale.group)
    try:
        while not stop.is_set():
            try:
                entries: list[tuple[str, int]] = []
                if time.monotonic() - last_claim > config.scale.claim_idle_seconds / 2:
                    last_claim = time.monotonic()
                    entries = await stream.reclaim(consumer, batch)
                    if entries:
                        log.info("worker %s reclaimed %d entries from a stalled consumer", consumer, len(entries))
                if not entries:
                    entries = await stream.read(consumer, batch, 1000)
                if not entries:
                    continue
                decided += await _decide_entries(store, decider, stream, entries)
            except (StreamError, DatabaseError) as exc:  # wait it out; unacknowledged entries stay pending
                log.error("worker %s paused: %s", consumer, exc)
                await asyncio.sleep(1)
    finally:
        await stream.close()
        store.engine.dispose()
    return decided


async def _decide_entries(store: Store, decider: Any, stream: PostStream, entries: list[tuple[str, int]]) -> int:
    rows = [row for _, row in entries]
    posts = await asyncio.to_thread(store.posts_to_decide, rows)
    decided = 0
    if posts:
        results = await asyncio.to_thread(decider.decide, [p for _, p in posts])
        items = [(row, post, d, acts) for (row, post), (d, acts) in zip(posts, results, strict=True)]
        ids = await asyncio.to_thread(store.record, items)
        decided = sum(i is not None for i in ids)
    await stream.ack([entry_id for entry_id, _ in entries])  # after the decisions are stored
    return decided
