"""Dashboard accounts and sessions: argon2id password hashes, every login attempt audited, and
server-side sessions whose cookie token is stored only as a hash (a copy of the database does not
log anyone in)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.schema import AuditRow, ModeratorRow, WebSessionRow, utcnow
from bot.storage.store import Store

Role = Literal["viewer", "moderator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "moderator", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}
MIN_PASSWORD = 10
_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class Moderator:
    id: int
    name: str
    role: Role
    disabled: bool

    def may(self, role: Role) -> bool:
        return RANK[self.role] >= RANK[role]


@dataclass(frozen=True, slots=True)
class WebSession:
    token: str
    csrf: str
    moderator: Moderator


class LoginRefused(Exception):
    """Wrong name or password, or a disabled account; the message is safe to show."""


def _moderator(row: ModeratorRow) -> Moderator:
    role: Role = row.role  # type: ignore[assignment]
    return Moderator(row.id, row.name, role, row.disabled)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, name: str, password: str, role: Role, actor: str, origin: str) -> Moderator:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not 1 <= len(name) <= 100 or not name.isprintable() or name != name.strip():
            raise ValueError("a name is 1-100 printable characters without surrounding spaces")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
        hashed = _hasher.hash(password)

        def work(session: Session) -> Moderator:
            row = ModeratorRow(name=name, password_hash=hashed, role=role, disabled=False, failed_logins=0)
            session.add(row)
            session.flush()
            session.add(_audit(actor, "moderator.add", name, origin, {"role": role}))
            return _moderator(row)

        try:
            result: Moderator = self.store.transaction(work)
        except IntegrityError as exc:
            raise ValueError(f"a moderator named {name!r} exists already") from exc
        return result

    def update(
        self, name: str, actor: str, origin: str, role: Role | None = None, disabled: bool | None = None
    ) -> Moderator:
        def work(session: Session) -> Moderator:
            row = session.scalar(select(ModeratorRow).where(ModeratorRow.name == name))
            if row is None:
                raise LookupError(f"no moderator {name!r}")
            if role is not None:
                row.role = role
            if disabled is not None:
                row.disabled = disabled
                if disabled:  # a disabled account is logged out everywhere
                    session.execute(delete(WebSessionRow).where(WebSessionRow.moderator_id == row.id))
                else:
                    row.failed_logins = 0
            session.add(_audit(actor, "moderator.update", name, origin, {"role": role, "disabled": disabled}))
            return _moderator(row)

        result: Moderator = self.store.transaction(work)
        return result

    def list(self) -> list[Moderator]:
        def work(session: Session) -> list[Moderator]:
            return [_moderator(r) for r in session.scalars(select(ModeratorRow).order_by(ModeratorRow.name))]

        result: list[Moderator] = self.store.transaction(work)
        return result

    def login(self, name: str, password: str, address: str, hours: int) -> WebSession:
        """A new session, or LoginRefused. Every attempt is audited, successful or not."""
        now = utcnow()

        def work(session: Session) -> WebSession | str:
            row = session.scalar(select(ModeratorRow).where(ModeratorRow.name == name).with_for_update())
            if row is None:
                _verify(_DUMMY_HASH, password)
                session.add(_audit(name[:100], "login.failed", name[:100], address, {"why": "unknown name"}))
                return "wrong name or password"
            if not _verify(row.password_hash, password):
                row.failed_logins += 1
                details: dict[str, object] = {"why": "wrong password", "failed_in_a_row": row.failed_logins}
                session.add(_audit(name, "login.failed", name, address, details))
                return "wrong name or password"
            if row.disabled:
                session.add(_audit(name, "login.refused", name, address, {"why": "disabled"}))
                return "this account is disabled"
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
            row.failed_logins = 0
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            session.add(
                WebSessionRow(
                    token_sha256=_digest(token),
                    moderator_id=row.id,
                    csrf_token=csrf,
                    expires_at=now + timedelta(hours=hours),
                    address=address[:100],
                )
            )
            session.add(_audit(name, "login", name, address, {}))
            return WebSession(token, csrf, _moderator(row))

        outcome: WebSession | str = self.store.transaction(work)
        if isinstance(outcome, str):
            raise LoginRefused(outcome)
        return outcome

    def session(self, token: str) -> WebSession | None:
        """The live session for a cookie token (None when unknown, expired or the account is disabled)."""

        def work(session: Session) -> WebSession | None:
            found = session.execute(
                select(WebSessionRow, ModeratorRow)
                .join(ModeratorRow, WebSessionRow.moderator_id == ModeratorRow.id)
                .where(WebSessionRow.token_sha256 == _digest(token))
            ).first()
            if found is None:
                return None
            row, mod = found
            if row.expires_at <= utcnow() or mod.disabled:
                session.delete(row)
                return None
            return WebSession(token, row.csrf_token, _moderator(mod))

        result: WebSession | None = self.store.transaction(work)
        return result

    def logout(self, token: str, address: str) -> None:
        def work(session: Session) -> None:
            row = session.get(WebSessionRow, _digest(token))
            if row is not None:
                mod = session.get(ModeratorRow, row.moderator_id)
                session.delete(row)
                if mod is not None:
                    session.add(_audit(mod.name, "logout", mod.name, address, {}))

        self.store.transaction(work)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _audit(actor: str, action: str, target: str, origin: str, details: dict[str, object]) -> AuditRow:
    return AuditRow(
        actor=actor, action=action, target_type="moderator", target_id=target, origin=origin, details=details
    )
