"""Posts in: stored as pending with their adapter's cursor in one transaction, read back for
deciding (after a crash, a failed scoring run, a worker's batch), and the cursors themselves."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.base import Transactional
from bot.storage.records import (
    CursorUpdate,
    PostStatus,
    chunks,
    post_from_row,
    post_row,
    write_cursor,
)
from bot.storage.schema import (
    CursorRow,
    PostRow,
    utcnow,
)
from moderation.cleaning import storable
from moderation.types import Post


class Posts(Transactional):
    def accept(self, posts: Sequence[Post], cursor: CursorUpdate | None = None) -> list[tuple[int, Post]]:
        """Store new posts as pending, and the cursor that covers them, in one transaction.
        Returns the (row id, post) pairs that were new; a post seen before is skipped. Each post
        is made storable first (moderation/cleaning.py), so what is decided is what is stored."""
        now = utcnow()
        posts = [storable(post, now) for post in posts]

        def work(session: Session) -> list[tuple[int, Post]]:
            fresh: dict[tuple[str, str, str], Post] = {}
            for post in posts:
                fresh.setdefault((post.platform, post.community, post.id), post)
            for key in self._existing(session, list(fresh)):
                del fresh[key]
            rows = [post_row(post) for post in fresh.values()]
            session.add_all(rows)
            session.flush()
            if cursor is not None:
                write_cursor(session, cursor)
            return [(row.id, post) for row, post in zip(rows, fresh.values(), strict=True)]

        try:
            return self.transaction(work)
        except IntegrityError:
            # Another writer stored one of these between our check and insert: retry, it is skipped now.
            return self.transaction(work)

    @staticmethod
    def _existing(session: Session, keys: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        found: set[tuple[str, str, str]] = set()
        by_scope: dict[tuple[str, str], list[str]] = {}
        for platform, community, post_id in keys:
            by_scope.setdefault((platform, community), []).append(post_id)
        for (platform, community), ids in by_scope.items():
            for chunk in chunks(ids):
                rows = session.scalars(
                    select(PostRow.platform_post_id).where(
                        PostRow.platform == platform,
                        PostRow.community == community,
                        PostRow.platform_post_id.in_(chunk),
                    )
                )
                found.update((platform, community, pid) for pid in rows)
        return found

    def pending(
        self, limit: int = 1000, statuses: Sequence[PostStatus] = (PostStatus.PENDING, PostStatus.FAILED)
    ) -> list[tuple[int, Post]]:
        """Posts accepted but not decided (a crash, or a failed scoring run): decided at start, and
        failed ones retried while running."""

        def work(session: Session) -> list[tuple[int, Post]]:
            rows = session.scalars(
                select(PostRow).where(PostRow.status.in_(list(statuses))).order_by(PostRow.id).limit(limit)
            )
            return [(r.id, post_from_row(r)) for r in rows]

        return self.transaction(work)

    def posts_to_decide(self, rows: Sequence[int]) -> list[tuple[int, Post]]:
        """These posts, if still undecided (a worker's batch; decided ones are skipped)."""

        def work(session: Session) -> list[tuple[int, Post]]:
            found = session.scalars(
                select(PostRow).where(PostRow.id.in_(list(rows)), PostRow.status != PostStatus.DECIDED)
            )
            return [(r.id, post_from_row(r)) for r in found]

        return self.transaction(work)

    def mark_failed(self, post_rows: Iterable[int], error: str) -> None:
        def work(session: Session) -> None:
            session.execute(
                update(PostRow)
                .where(PostRow.id.in_(list(post_rows)), PostRow.status != PostStatus.DECIDED)
                .values(status=PostStatus.FAILED, attempts=PostRow.attempts + 1, last_error=error[:2000])
            )

        self.transaction(work)

    def get_cursor(self, adapter: str, key: str) -> str | None:
        def work(session: Session) -> str | None:
            row = session.get(CursorRow, (adapter, key))
            return row.value if row else None

        return self.transaction(work)

    def set_cursor(self, cursor: CursorUpdate) -> None:
        self.transaction(lambda session: write_cursor(session, cursor))
