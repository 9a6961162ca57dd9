"""Who wrote a post: handle and account age for DIDs, looked up in batches and cached.

On the firehose nearly every post is by a different author. Looking each one up in turn
(getProfile, then the PLC directory) on the frame loop held the loop for a round trip per new
author: 9 posts/s with 600 new authors, about 5 with an 80 ms AppView. So lookups are made only
for posts that passed the watch filter, a batch of posts at a time, 25 actors a getProfiles call
(its limit), a few calls at once, and remembered for an hour (a handle can change).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import httpx
from atproto_client.exceptions import AtProtocolError

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
        self._calls = asyncio.Semaphore(CONCURRENT)
        self.lookups = 0
        """getProfiles calls made, for metrics and tests"""

    def cached(self, did: str) -> Author | None:
        found = self._cache.get(did)
        if found is None or time.monotonic() - found[0] > TTL_SECONDS:
            return None
        self._cache.move_to_end(did)
        return found[1]

    async def authors(self, dids: Iterable[str]) -> dict[str, Author]:
        """Every DID's author; one the AppView and the PLC directory cannot tell about is an
        author with an id only (a lookup that fails never holds a post back)."""
        wanted = list(dict.fromkeys(dids))
        found = {did: a for did in wanted if (a := self.cached(did)) is not None}
        missing = [did for did in wanted if did not in found]
        chunks = [missing[i : i + PROFILES_PER_CALL] for i in range(0, len(missing), PROFILES_PER_CALL)]
        profiles: dict[str, tuple[str | None, str | None]] = {}
        for part in await asyncio.gather(*(self._profiles(chunk) for chunk in chunks)):
            profiles.update(part)
        undated = [did for did in missing if profiles.get(did, (None, None))[1] is None and did.startswith("did:plc:")]
        dates = dict(zip(undated, await asyncio.gather(*(self._plc_created(did) for did in undated)), strict=True))
        now = time.monotonic()
        for did in missing:
            handle, created = profiles.get(did, (None, None))
            author = Author(id=did, handle=handle, account_created_at=_when(created or dates.get(did)))
            found[did] = author
            self._cache[did] = (now, author)
        while len(self._cache) > CACHED:
            self._cache.popitem(last=False)
        return found

    async def _profiles(self, dids: list[str]) -> dict[str, tuple[str | None, str | None]]:
        async with self._calls:
            self.lookups += 1
            try:
                answer = await self.client.app.bsky.actor.get_profiles({"actors": dids})
            except AtProtocolError as exc:
                log.debug("bluesky: no profiles for %d authors: %s", len(dids), exc)
                return {}
        return {p.did: (p.handle, getattr(p, "created_at", None)) for p in answer.profiles}

    async def _plc_created(self, did: str) -> str | None:
        """When the identity was registered: the first operation in its PLC audit log."""
        async with self._calls:
            try:
                async with httpx.AsyncClient(timeout=self.timeout) as http:
                    response = await http.get(f"{self.plc_directory}/{did}/log/audit")
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
