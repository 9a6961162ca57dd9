"""Waiting between retries of something that is down (the database, Redis): short at first,
doubling, capped, and back to short once it answers."""

from __future__ import annotations

import asyncio
import contextlib


class Backoff:
    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self.first = first
        self.cap = cap
        self.delay = first
        """How long the next wait lasts."""

    async def wait(self, stop: asyncio.Event | None = None) -> None:
        """Wait `delay` (or until `stop` is set), then double it up to the cap."""
        if stop is None:
            await asyncio.sleep(self.delay)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.delay)
        self.delay = min(self.delay * 2, self.cap)

    def reset(self) -> None:
        self.delay = self.first
