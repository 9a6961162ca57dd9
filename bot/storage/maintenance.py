"""Data care: SQLite backup and restore, the retention purge of post text, and forgetting a user.

What is purged or forgotten is content (post text, the normalised text scorers saw, the words
reasons quoted as evidence, handles, drafts written about the post); decisions, scores, reasons
without their quotes and text hashes stay, so the decision
log keeps its shape and a repost of a purged text can still be recognised by its hash.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, exists, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot.storage.api_keys import forget_suggestions
from bot.storage.appeals import forget_appeals
from bot.storage.records import CaseState, chunks
from bot.storage.schema import AuditRow, CaseRow, DecisionRow, DraftRow, PostRow, utcnow
from bot.storage.store import Store
from moderation.types import Reason


class MaintenanceError(Exception):
    """A backup, restore or purge that cannot be done as asked; the message says why."""


def sqlite_path(engine: Engine) -> Path:
    url = make_url(str(engine.url))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise MaintenanceError(
            "this command backs up SQLite databases; for PostgreSQL use pg_dump "
            "(docs/operations.md: pg_dump -Fc -f modbot.dump DBNAME, restore with pg_restore)"
        )
    return Path(url.database)


def backup(engine: Engine, target: Path) -> int:
    """Copy the live database to `target` with SQLite's online backup API (consistent while the
    service writes). Returns the number of pages copied."""
    if target.exists():
        raise MaintenanceError(f"{target} exists already: choose a new file")
    source = sqlite_path(engine)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
        pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
    return pages


def restore(engine: Engine, backup_file: Path) -> None:
    """Replace the database's content with a backup (stop the service first). The backup is checked
    to be a modbot database before anything is overwritten."""
    target = sqlite_path(engine)
    try:
        with sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True) as src:
            if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise MaintenanceError(f"{backup_file} fails SQLite's integrity check")
            tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"alembic_version", "posts", "decisions"} <= tables:
                raise MaintenanceError(f"{backup_file} is not a modbot database (no posts/decisions/alembic_version)")
            engine.dispose()
            with sqlite3.connect(target) as dst:
                src.backup(dst)
    except sqlite3.DatabaseError as exc:
        raise MaintenanceError(f"{backup_file} is not a readable SQLite database: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Purged:
    posts: int
    drafts: int


def purge_text(store: Store, before: datetime, dry_run: bool = False) -> Purged:
    """Remove the text of posts received before `before` whose case (if any) is closed."""

    def work(session: Session) -> Purged:
        open_case = exists().where(CaseRow.post_id == PostRow.id, CaseRow.state != CaseState.CLOSED)
        ids = list(
            session.scalars(
                select(PostRow.id).where(PostRow.received_at < before, PostRow.text.is_not(None), ~open_case)
            )
        )
        drafts = 0
        if ids and not dry_run:
            _erase(session, ids)
            drafts = _erase_drafts(session, ids)
            forget_appeals(session, ids, None)
        if not dry_run:
            forget_suggestions(session, before)
        return Purged(len(ids), drafts)

    result: Purged = store.transaction(work)
    return result


def forget(store: Store, platform: str, user: str, actor: str, origin: str, community: str | None = None) -> Purged:
    """Delete a user's content on request: post text, handles, the normalised text, drafts about
    their posts; the author id becomes a pseudonym, so their decisions no longer name them."""
    pseudonym = "forgotten:" + hashlib.sha256(f"{platform}:{user}".encode()).hexdigest()[:16]

    def work(session: Session) -> Purged:
        scope = [PostRow.platform == platform, PostRow.author_id == user]
        if community is not None:
            scope.append(PostRow.community == community)
        ids = list(session.scalars(select(PostRow.id).where(*scope)))
        drafts = 0
        if ids:
            _erase(session, ids)
            drafts = _erase_drafts(session, ids)
            forget_appeals(session, ids, pseudonym)
            session.execute(
                update(PostRow)
                .where(PostRow.id.in_(ids))
                .values(author_id=pseudonym, author_roles=[], platform_ref={}, links=[], mentions=[])
            )
        session.add(
            AuditRow(
                actor=actor,
                action="user.forget",
                target_type="user",
                target_id=pseudonym,
                origin=origin,
                details={"platform": platform, "community": community, "posts": len(ids), "drafts": drafts},
            )
        )
        return Purged(len(ids), drafts)

    result: Purged = store.transaction(work)
    return result


def _erase(session: Session, post_ids: list[int]) -> None:
    for chunk in chunks(post_ids):
        session.execute(update(PostRow).where(PostRow.id.in_(chunk)).values(text=None, author_handle=None))
        for decision in session.scalars(select(DecisionRow).where(DecisionRow.post_id.in_(chunk))):
            decision.normalised_text = None
            decision.reasons = [Reason.from_json(r).erased().to_json() for r in decision.reasons]


def _erase_drafts(session: Session, post_ids: list[int]) -> int:
    erased = 0
    for chunk in chunks(post_ids):
        result = session.execute(
            update(DraftRow)
            .where(DraftRow.post_id.in_(chunk))
            .values(text=None, model_text=None, reasons=[], updated_at=utcnow())
        )
        erased += int(result.rowcount)  # type: ignore[attr-defined]
    return erased
