"""What every table group's queries share: the engine and one transaction per call, with
connection failures turned into `DatabaseError`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.db import DatabaseError, display_url

T = TypeVar("T")


class Transactional:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)

    def transaction(self, fn: Callable[[Session], T]) -> T:
        """Run fn(session) in one transaction, turning connection failures into DatabaseError."""
        try:
            with self._session.begin() as session:
                return fn(session)
        except OperationalError as exc:
            raise DatabaseError(f"database {display_url(str(self.engine.url))} failed: {exc.orig}") from exc
