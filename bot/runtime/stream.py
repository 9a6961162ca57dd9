"""The Redis Stream that joins `--role ingest` to `--role worker` processes past one machine.

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

import logging
import os
import socket
from collections.abc import Sequence
from typing import Any

from bot.config import ScaleConfig

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
