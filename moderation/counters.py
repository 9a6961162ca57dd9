"""Sliding-window counters for spam rules, behind one interface.

Rules read counts and say what to count; the Decider applies the increments after every rule has
run (so one post's rules all see the same state). In one process an in-memory store does; with
several workers a shared store (Redis, in bot/) makes every worker see the same counts.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque
from typing import Protocol


class Counters(Protocol):
    def count(self, key: str, window_seconds: float, now: float) -> int:
        """Distinct members added to `key` within the window ending at `now`."""
        ...

    def add(self, key: str, member: str, now: float) -> None:
        """Record `member` under `key` at `now` (adding the same member again refreshes it)."""
        ...

    def seen(self, key: str, member: str, window_seconds: float, now: float) -> bool:
        """Whether `member` was (last) added to `key` within the window ending at `now`."""
        ...


class InMemoryCounters:
    """For the single-process default. Entries older than `horizon_seconds` (the longest window a
    rule reads) are forgotten, so memory holds one horizon of traffic, not a day's.

    Each key keeps its entries sorted by time, so a count is two binary searches. Forgetting costs
    the same per post whatever the volume: a key trims its own expired entries when it is added to,
    once they are half of what it holds or `_TRIM_AT` of them (so a busy key's list is not shifted
    for every post, and a quiet key holds at most twice its live entries), and keys that went quiet are found
    through a queue of (time, key) in the order they were added, each entry looked at once; walking
    every key instead made cleanup 74 % of decision time by 50,000 posts."""

    _TRIM_AT = 256
    """expired entries a busy key collects before it drops them (one list shift per that many adds)"""

    def __init__(self, horizon_seconds: float = 86_400) -> None:
        self.horizon = horizon_seconds
        self._keys: dict[str, _Window] = {}
        self._added: deque[tuple[float, str]] = deque()

    def __len__(self) -> int:
        """Keys held (for the soak bench)."""
        return len(self._keys)

    def count(self, key: str, window_seconds: float, now: float) -> int:
        window = self._keys.get(key)
        return 0 if window is None else window.count(now - window_seconds, now)

    def seen(self, key: str, member: str, window_seconds: float, now: float) -> bool:
        window = self._keys.get(key)
        at = None if window is None else window.members.get(member)
        return at is not None and now - window_seconds < at <= now

    def add(self, key: str, member: str, now: float) -> None:
        cutoff = now - self.horizon
        window = self._keys.get(key)
        if window is None:
            window = self._keys[key] = _Window()
        window.add(member, now)
        expired = window.expired(cutoff)
        if expired >= self._TRIM_AT or expired * 2 >= len(window.entries):
            window.forget_before(cutoff)
        self._added.append((now, key))
        while self._added and self._added[0][0] <= cutoff:
            _, quiet = self._added.popleft()
            held = self._keys.get(quiet)
            if held is not None and held.last <= cutoff:
                del self._keys[quiet]


class _Window:
    """One key's members, each at the time it was last added, sorted by (time, member)."""

    __slots__ = ("entries", "last", "members")

    def __init__(self) -> None:
        self.members: dict[str, float] = {}
        self.entries: list[tuple[float, str]] = []
        self.last = float("-inf")
        """the latest time anything was added"""

    def add(self, member: str, at: float) -> None:
        old = self.members.get(member)
        if old is not None:
            del self.entries[bisect_left(self.entries, (old, member))]
        self.members[member] = at
        insort(self.entries, (at, member))
        self.last = max(self.last, at)

    def count(self, after: float, until: float) -> int:
        """Members with after < time <= until."""
        return bisect_right(self.entries, until, key=_time) - bisect_right(self.entries, after, key=_time)

    def expired(self, cutoff: float) -> int:
        return bisect_right(self.entries, cutoff, key=_time)

    def forget_before(self, cutoff: float) -> None:
        """Drop members last added at or before `cutoff`."""
        cut = self.expired(cutoff)
        for _, member in self.entries[:cut]:
            del self.members[member]
        del self.entries[:cut]


def _time(entry: tuple[float, str]) -> float:
    return entry[0]
