"""The ingest spool: posts an adapter handed over while the database was down, kept in a local
SQLite file (synchronous writes) until the database returns, in arrival order.

Without it an adapter would have to hold its platform's events in memory while it waits, and a
Discord gateway does not replay what a crashed process had received. With it, an event is safe on
local disk the moment the adapter's hand-over returns; bounded, so a long outage pauses ingest
with a log line instead of filling the disk.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.storage.records import CursorUpdate
from moderation.types import Post


class IngestSpool:
    def __init__(self, path: Path, max_posts: int) -> None:
        self.path = path
        self.max_posts = max_posts
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS spooled (id INTEGER PRIMARY KEY, n INTEGER, posts TEXT, cursor TEXT)"
        )
        self._lock = threading.Lock()

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT coalesce(sum(n), 0) FROM spooled").fetchone()[0])

    def full(self) -> bool:
        return self.count() >= self.max_posts

    def put(self, posts: Sequence[Post], cursor: CursorUpdate | None) -> None:
        """Spooled now: this is when they were received, not when the database takes them."""
        now = datetime.now(UTC)
        body = json.dumps([replace(p, received_at=p.received_at or now).to_json() for p in posts], ensure_ascii=False)
        mark = json.dumps([cursor.adapter, cursor.key, cursor.value]) if cursor else None
        with self._lock:
            self._db.execute("INSERT INTO spooled (n, posts, cursor) VALUES (?, ?, ?)", (len(posts), body, mark))

    def oldest(self) -> tuple[int, list[Post], CursorUpdate | None] | None:
        with self._lock:
            row = self._db.execute("SELECT id, posts, cursor FROM spooled ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        cursor = CursorUpdate(*json.loads(row[2])) if row[2] else None
        return int(row[0]), [Post.from_json(p) for p in json.loads(row[1])], cursor

    def remove(self, spool_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM spooled WHERE id = ?", (spool_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
