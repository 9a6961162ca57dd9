"""Who wrote a post: handle and account age for DIDs, looked up in batches and cached.

On the firehose nearly every post is by a different author. Looking each one up in turn
(getProfile, then the PLC directory) on the frame loop held the loop for a round trip per new
author: 9 posts/s with 600 new authors, about 5 with an 80 ms AppView. So lookups are made only
for posts that passed the watch filter, a batch of posts at a time, 25 actors a getProfiles call
(its limit), a few calls at once, and remembered for an hour (a handle can change). The PLC
directory is asked for an account's age only where the AppView gave none and a rule reads it (the
new-account rule reads it for posts with links): in a replay of 600 new accounts with no profile
record, asking it for every author took 2.2 s a batch of 256 posts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx

from bot.adapters.bluesky.errors import UNREACHABLE
from moderation.types import Author

log = logging.getLogger(__name__)

PROFILES_PER_CALL = 25
"""app.bsky.actor.getProfiles takes at most 25 actors"""
CONCURRENT = 4
"""calls in flight at once: a burst of new authors must not look like an attack to the AppView"""
TTL_SECONDS = 3600.0
CACHED = 10_000


class AuthorDirectory:
    def __init__(self, client: Any, plc_directory: str, timeout: float = 10.0) -> None:
        self.client = client
        self.plc_directory = plc_directory.rstrip("/")
        self.timeout = timeout
        self._cache: OrderedDict[str, tuple[float, Author]] = OrderedDict()
        self._plc_asked: set[str] = set()
        """DIDs whose age the PLC directory was asked for already (an answer of none included)"""
        self._calls = asyncio.Semaphore(CONCURRENT)
        self._http: httpx.AsyncClient | None = None
        """kept open: one connection to the PLC directory, not one per author"""
        self.lookups = 0
        """getProfiles calls made, for metrics and tests"""

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def cached(self, did: str) -> Author | None:
        found = self._cache.get(did)
        if found is None:
            return None
        if time.monotonic() - found[0] > TTL_SECONDS:
            self._plc_asked.discard(did)  # looked up afresh, age included
            return None
        self._cache.move_to_end(did)
        return found[1]

    async def authors(self, dids: Iterable[str], dated: Collection[str] = ()) -> dict[str, Author]:
        """Every DID's author; one the AppView and the PLC directory cannot tell about is an
        author with an id only (a lookup that fails never holds a post back). `dated`: the DIDs
        whose account age matters, asked of the PLC directory (once) if the AppView has none."""
        wanted = list(dict.fromkeys(dids))
        found = {did: a for did in wanted if (a := self.cached(did)) is not None}
        missing = [did for did in wanted if did not in found]
        chunks = [missing[i : i + PROFILES_PER_CALL] for i in range(0, len(missing), PROFILES_PER_CALL)]
        now = time.monotonic()
        asked: set[str] = set()
        for chunk, part in zip(chunks, await asyncio.gather(*(self._profiles(c) for c in chunks)), strict=True):
            if part is None:  # the call failed: asked again with the next batch
                continue
            asked.update(chunk)
            for did, (handle, created) in part.items():
                found[did] = self._remember(did, Author(id=did, handle=handle, account_created_at=_when(created)), now)
        for did in missing:
            if did not in found:  # unknown to the AppView (remembered), or its call failed (not)
                found[did] = self._remember(did, Author(id=did), now) if did in asked else Author(id=did)
        undated = [
            did
            for did in wanted
            if did in dated
            and found[did].account_created_at is None
            and did.startswith("did:plc:")
            and did not in self._plc_asked
        ]
        for did, created in zip(
            undated, await asyncio.gather(*(self._plc_created(did) for did in undated)), strict=True
        ):
            self._plc_asked.add(did)
            if (when := _when(created)) is not None:
                found[did] = self._remember(did, replace(found[did], account_created_at=when), now)
        while len(self._cache) > CACHED:
            evicted, _ = self._cache.popitem(last=False)
            self._plc_asked.discard(evicted)
        return found

    def _remember(self, did: str, author: Author, now: float) -> Author:
        self._cache[did] = (now, author)
        self._cache.move_to_end(did)
        return author

    async def _profiles(self, dids: list[str]) -> dict[str, tuple[str | None, str | None]] | None:
        async with self._calls:
            self.lookups += 1
            try:
                answer = await self.client.app.bsky.actor.get_profiles({"actors": dids})
            except UNREACHABLE as exc:
                log.debug("bluesky: no profiles for %d authors: %s", len(dids), exc)
                return None
        return {p.did: (p.handle, getattr(p, "created_at", None)) for p in answer.profiles}

    async def _plc_created(self, did: str) -> str | None:
        """When the identity was registered: the first operation in its PLC audit log."""
        async with self._calls:
            try:
                self._http = self._http or httpx.AsyncClient(timeout=self.timeout)
                response = await self._http.get(f"{self.plc_directory}/{did}/log/audit")
                response.raise_for_status()
                entries = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                log.debug("bluesky: no PLC audit log for %s: %s", did, exc)
                return None
        first = entries[0] if isinstance(entries, list) and entries else {}
        return str(first["createdAt"]) if isinstance(first, dict) and first.get("createdAt") else None


def _when(stamp: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None
    except ValueError:
        return None
