"""The quarantine: input that could not become a post, stored with why and its raw bytes (cut to
QUARANTINE_BYTES) so that an operator can see what a platform or a feed sent, while the source
moves on past it. Storing the same item twice (a restart re-reading a chunk) keeps one row."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.storage.schema import QUARANTINE_BYTES, QuarantineRow
from bot.storage.store import Store
from moderation.cleaning import clean_text, visible_controls
from moderation.types import Quarantined


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    id: int
    at: datetime
    item: Quarantined
    """`raw` cut to QUARANTINE_BYTES"""
    raw_size: int

    def readable(self) -> str:
        """The raw bytes as text for a moderator's eyes: bytes that are not UTF-8 and control
        characters shown as their codes, so what a platform sent reads as sent and acts on nothing."""
        return visible_controls(self.item.raw.decode("utf-8", "backslashreplace"))


class QuarantineStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def put(self, items: Sequence[Quarantined]) -> int:
        """Store the items not stored before; how many were new."""

        def work(session: Session) -> int:
            added = 0
            for item in items:
                digest = hashlib.sha256(item.raw).hexdigest()
                platform, source = clean_text(item.platform)[:32], clean_text(item.source)[:512]
                position = clean_text(item.position)[:128]
                known = session.scalar(
                    select(QuarantineRow.id).where(
                        QuarantineRow.platform == platform,
                        QuarantineRow.source == source,
                        QuarantineRow.position == position,
                        QuarantineRow.raw_sha256 == digest,
                    )
                )
                if known is None:
                    session.add(
                        QuarantineRow(
                            platform=platform,
                            source=source,
                            position=position,
                            reason=clean_text(item.reason)[:2000],
                            raw=item.raw[:QUARANTINE_BYTES],
                            raw_size=len(item.raw),
                            raw_sha256=digest,
                        )
                    )
                    session.flush()
                    added += 1
            return added

        added: int = self.store.transaction(work)
        return added

    def latest(self, limit: int, platform: str | None = None, offset: int = 0) -> list[QuarantineEntry]:
        def work(session: Session) -> list[QuarantineEntry]:
            query = select(QuarantineRow).order_by(QuarantineRow.id.desc()).limit(limit).offset(offset)
            if platform is not None:
                query = query.where(QuarantineRow.platform == platform)
            return [_entry(row) for row in session.scalars(query)]

        entries: list[QuarantineEntry] = self.store.transaction(work)
        return entries

    def count(self) -> int:
        def work(session: Session) -> int:
            return int(session.scalar(select(func.count()).select_from(QuarantineRow)) or 0)

        counted: int = self.store.transaction(work)
        return counted

    def purge_before(self, cutoff: datetime) -> int:
        """Drop entries older than `cutoff` (the retention window: raw input may hold personal data)."""

        def work(session: Session) -> int:
            result = session.execute(delete(QuarantineRow).where(QuarantineRow.at < cutoff))
            return int(result.rowcount)  # type: ignore[attr-defined]

        purged: int = self.store.transaction(work)
        return purged


def _entry(row: QuarantineRow) -> QuarantineEntry:
    return QuarantineEntry(
        row.id, row.at, Quarantined(row.platform, row.source, row.position, row.reason, row.raw), row.raw_size
    )
