"""Sliding-window counters for spam rules, behind one interface.

Rules read counts and say what to count; the Decider applies the increments after every rule has
run (so one post's rules all see the same state). In one process an in-memory store does; with
several workers a shared store (Redis, in bot/) makes every worker see the same counts.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol


class Counters(Protocol):
    def count(self, key: str, window_seconds: float, now: float) -> int:
        """Distinct members added to `key` within the window ending at `now`."""
        ...

    def add(self, key: str, member: str, now: float) -> None:
        """Record `member` under `key` at `now` (adding the same member again refreshes it)."""
        ...


class InMemoryCounters:
    """For the single-process default. Entries older than `horizon_seconds` are forgotten."""

    def __init__(self, horizon_seconds: float = 86_400) -> None:
        self.horizon = horizon_seconds
        self._keys: dict[str, dict[str, float]] = defaultdict(dict)
        self._adds = 0

    def count(self, key: str, window_seconds: float, now: float) -> int:
        members = self._keys.get(key)
        if not members:
            return 0
        return sum(1 for t in members.values() if now - window_seconds < t <= now)

    def add(self, key: str, member: str, now: float) -> None:
        self._keys[key][member] = now
        self._adds += 1
        if self._adds % 10_000 == 0:
            self._forget(now)

    def _forget(self, now: float) -> None:
        for key in list(self._keys):
            members = {m: t for m, t in self._keys[key].items() if now - t < self.horizon}
            if members:
                self._keys[key] = members
            else:
                del self._keys[key]
