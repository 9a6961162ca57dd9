"""Spam-rule counters in Redis, so every worker of a scaled-out deployment sees the same counts.

One sorted set per key: members scored by the time they were (last) added; reads trim what fell
out of the horizon. Keys expire a day after their last write.
"""

from __future__ import annotations

from typing import Any

_PREFIX = "modbot:counter:"
_HORIZON = 86_400


class RedisCounters:
    def __init__(self, url: str, prefix: str = _PREFIX) -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix
        """Keeps deployments (or test runs) sharing one Redis apart."""

    def count(self, key: str, window_seconds: float, now: float) -> int:
        return int(self._redis.zcount(self.prefix + key, f"({now - window_seconds}", now))

    def add(self, key: str, member: str, now: float) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(self.prefix + key, {member: now})
        pipe.zremrangebyscore(self.prefix + key, "-inf", now - _HORIZON)
        pipe.expire(self.prefix + key, _HORIZON)
        pipe.execute()
