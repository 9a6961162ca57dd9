"""`modbot run --role worker`: decide posts read from the stream (bot/runtime/stream.py) until stopped.

Each worker reads row ids as one consumer of the group, decides those posts and records the
decisions (the store's guarded update makes that exactly-once per post), and only then
acknowledges the entries; entries a dead worker left unacknowledged are reclaimed after
`claim_idle_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.config import Config
from bot.runtime import wiring
from bot.runtime.stream import PostStream, StreamError, consumer_name
from bot.storage.db import DatabaseError
from bot.storage.gateway import DatabaseThread
from bot.storage.store import Store
from model.community import CommunityFolder
from moderation.decider import Decider

log = logging.getLogger(__name__)


async def run_worker(config: Config, stop: asyncio.Event) -> int:
    """Decide posts from the stream until `stop`; returns how many this worker decided."""
    store: Store = await asyncio.to_thread(wiring.open_store, config)
    decider = (await asyncio.to_thread(wiring.filter_stack, config, store, shared_counters=True)).decider
    stream = PostStream(config.scale)
    consumer = consumer_name()
    batch = config.pipeline.batch_size
    decided = 0
    last_claim = 0.0
    db = DatabaseThread()
    communities = CommunityFolder(config.data.dir)
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
                decided += await _decide_entries(db, store, decider, stream, entries, communities)
            except (StreamError, DatabaseError) as exc:  # wait it out; unacknowledged entries stay pending
                log.error("worker %s paused: %s", consumer, exc)
                await asyncio.sleep(1)
    finally:
        await stream.close()
        db.close()
        store.engine.dispose()
    return decided


async def _decide_entries(
    db: DatabaseThread,
    store: Store,
    decider: Decider,
    stream: PostStream,
    entries: list[tuple[str, int]],
    communities: CommunityFolder,
) -> int:
    rows = [row for _, row in entries]
    posts = await db(store.posts_to_decide, rows)
    decided = 0
    if posts:
        # moderators switch shadow mode, accept thresholds and promote models elsewhere
        await db(wiring.run_time_settings, store, decider, communities)
        results = await asyncio.to_thread(decider.decide, [p for _, p in posts])
        items = [(row, post, d, acts) for (row, post), (d, acts) in zip(posts, results, strict=True)]
        ids = await db(store.record, items)
        decided = sum(i is not None for i in ids)
    await stream.ack([entry_id for entry_id, _ in entries])  # after the decisions are stored
    return decided
