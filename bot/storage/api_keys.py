"""The scoring API's keys and the scores its clients suggest. A key is shown once, when it is
made, and only its SHA-256 is stored: a copy of the database does not let anyone call the API."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.base import Transactional
from bot.storage.schema import ApiKeyRow, SuggestionRow, utcnow
from moderation.cleaning import clean_text

KEY_PREFIX = "mb_"


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str
    qps: float | None
    community: str | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Suggestion:
    attribute: str
    category: str | None
    value: float


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _view(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.name, row.qps, row.community, row.created_at, row.revoked_at)


class ApiKeys(Transactional):
    def add_api_key(self, name: str, qps: float | None = None, community: str | None = None) -> str:
        """A new key named `name`; the key itself is returned, and never stored. ValueError: the
        name is taken (also by a revoked key, so old logs keep meaning one caller)."""
        key = KEY_PREFIX + secrets.token_urlsafe(30)

        def work(session: Session) -> None:
            session.add(ApiKeyRow(name=name, key_hash=key_hash(key), qps=qps, community=community, created_at=utcnow()))

        try:
            self.transaction(work)
        except IntegrityError:
            raise ValueError(f"an API key named {name!r} exists already") from None
        return key

    def api_key(self, key: str) -> ApiKey | None:
        """The live key with this value, or None (unknown or revoked)."""

        def work(session: Session) -> ApiKey | None:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash(key)))
            return None if row is None or row.revoked_at is not None else _view(row)

        return self.transaction(work)

    def api_keys(self) -> list[ApiKey]:
        return self.transaction(lambda s: [_view(r) for r in s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.name))])

    def revoke_api_key(self, name: str) -> None:
        """LookupError: no live key of that name."""

        def work(session: Session) -> None:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.name == name))
            if row is None or row.revoked_at is not None:
                raise LookupError(f"no live API key named {name!r}")
            row.revoked_at = utcnow()

        self.transaction(work)

    def suggest_scores(
        self, key: str, community: str, text: str | None, suggestions: Sequence[Suggestion], client_token: str | None
    ) -> None:
        """Keep what a client says the comment's scores should have been, one row per attribute;
        `text` None: the comment is not kept, only the scores."""
        now = utcnow()
        text = clean_text(text) if text is not None else None

        def work(session: Session) -> None:
            session.add_all(
                SuggestionRow(
                    key_name=key,
                    community=community,
                    attribute=s.attribute,
                    category=s.category,
                    value=s.value,
                    text=text,
                    client_token=client_token,
                    created_at=now,
                )
                for s in suggestions
            )

        self.transaction(work)

    def suggestions(self, community: str) -> list[tuple[str, str | None, float, str | None]]:
        """(attribute, category, value, text) of a community's suggestions, oldest first."""

        def work(session: Session) -> list[tuple[str, str | None, float, str | None]]:
            rows = session.scalars(
                select(SuggestionRow).where(SuggestionRow.community == community).order_by(SuggestionRow.id)
            )
            return [(r.attribute, r.category, r.value, r.text) for r in rows]

        return self.transaction(work)

    def suggested(self, community: str, since: datetime) -> list[Suggested]:
        """The community's suggestions since `since` that a community model can learn from: with
        the comment's text kept and an attribute modbot scores."""

        def work(session: Session) -> list[Suggested]:
            rows = session.scalars(
                select(SuggestionRow)
                .where(
                    SuggestionRow.community == community,
                    SuggestionRow.created_at >= since,
                    SuggestionRow.text.is_not(None),
                    SuggestionRow.category.is_not(None),
                )
                .order_by(SuggestionRow.id)
            )
            return [Suggested(r.id, str(r.text), str(r.category), r.value, r.key_name) for r in rows]

        return self.transaction(work)


@dataclass(frozen=True, slots=True)
class Suggested:
    """A score an API client suggested for a comment whose text was kept."""

    id: int
    text: str
    category: str
    value: float
    key: str
    """the API key's name: who suggested it"""


def forget_suggestions(session: Session, before: datetime) -> None:
    """The retention purge: suggested scores keep their values, not the comment's words."""
    session.execute(
        update(SuggestionRow)
        .where(SuggestionRow.created_at < before, SuggestionRow.text.is_not(None))
        .values(text=None)
    )
