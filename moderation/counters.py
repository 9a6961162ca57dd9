"""Sliding-window counters for spam rules, behind one interface.

Rules read counts and say what to count; the Decider applies the increments after every rule has
run (so one post's rules all see the same state). In one process an in-memory store does; with
several workers a shared store (Redis, in bot/) makes every worker see the same counts.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
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
    """For the single-process default. Entries older than `horizon_seconds` are forgotten.

    Each key keeps its entries sorted by time, so a count is two binary searches: a busy
    community's key holds a day of posts, and scanning it for every post made the spam rules
    the slowest part of a decision."""

    def __init__(self, horizon_seconds: float = 86_400) -> None:
        self.horizon = horizon_seconds
        self._keys: dict[str, _Window] = defaultdict(_Window)
        self._adds = 0

    def count(self, key: str, window_seconds: float, now: float) -> int:
        window = self._keys.get(key)
        return 0 if window is None else window.count(now - window_seconds, now)

    def add(self, key: str, member: str, now: float) -> None:
        self._keys[key].add(member, now)
        self._adds += 1
        if self._adds % 10_000 == 0:
            self._forget(now)

    def _forget(self, now: float) -> None:
        for key in list(self._keys):
            if not self._keys[key].forget_before(now - self.horizon):
                del self._keys[key]


class _Window:
    """One key's members, each at the time it was last added, sorted by (time, member)."""

    __slots__ = ("entries", "members")

    def __init__(self) -> None:
        self.members: dict[str, float] = {}
        self.entries: list[tuple[float, str]] = []

    def add(self, member: str, at: float) -> None:
        old = self.members.get(member)
        if old is not None:
            del self.entries[bisect_left(self.entries, (old, member))]
        self.members[member] = at
        insort(self.entries, (at, member))

    def count(self, after: float, until: float) -> int:
        """Members with after < time <= until."""
        return bisect_right(self.entries, until, key=_time) - bisect_right(self.entries, after, key=_time)

    def forget_before(self, cutoff: float) -> int:
        """Drop members last added at or before `cutoff`; how many remain."""
        cut = bisect_right(self.entries, cutoff, key=_time)
        for _, member in self.entries[:cut]:
            del self.members[member]
        del self.entries[:cut]
        return len(self.entries)


def _time(entry: tuple[float, str]) -> float:
    return entry[0]
