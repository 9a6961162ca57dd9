"""Spam-rule counters in Redis, so every worker of a scaled-out deployment sees the same counts.

One sorted set per key: members scored by the time they were (last) added; each write trims what
fell out of the horizon (the longest window a rule reads), and a key expires one horizon after its
last write.
"""

from __future__ import annotations

from typing import Any

_PREFIX = "modbot:counter:"


class RedisCounters:
    def __init__(self, url: str, prefix: str = _PREFIX, horizon_seconds: float = 86_400) -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix
        """Keeps deployments (or test runs) sharing one Redis apart."""
        self.horizon = horizon_seconds

    def count(self, key: str, window_seconds: float, now: float) -> int:
        return int(self._redis.zcount(self.prefix + key, f"({now - window_seconds}", now))

    def seen(self, key: str, member: str, window_seconds: float, now: float) -> bool:
        at = self._redis.zscore(self.prefix + key, member)
        return at is not None and now - window_seconds < float(at) <= now

    def add(self, key: str, member: str, now: float) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(self.prefix + key, {member: now})
        pipe.zremrangebyscore(self.prefix + key, "-inf", now - self.horizon)
        pipe.expire(self.prefix + key, max(1, int(self.horizon)))
        pipe.execute()
