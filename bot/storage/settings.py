"""Settings moderators change at run time (shadow mode per community), the audit log, and the
health check's ping."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.base import Transactional
from bot.storage.schema import (
    AuditRow,
    CommunitySettingsRow,
    utcnow,
)


class CommunitySettings(Transactional):
    def shadow_overrides(self) -> dict[tuple[str, str], bool]:
        """Shadow mode switched at run time (e.g. `/modbot shadow`), per platform and community."""

        def work(session: Session) -> dict[tuple[str, str], bool]:
            rows = session.scalars(select(CommunitySettingsRow).where(CommunitySettingsRow.shadow.is_not(None)))
            return {(r.platform, r.community): bool(r.shadow) for r in rows}

        return self.transaction(work)

    def set_shadow(self, platform: str, community: str, shadow: bool, actor: str, origin: str) -> None:
        def work(session: Session) -> None:
            row = session.get(CommunitySettingsRow, (platform, community))
            if row is None:
                session.add(
                    CommunitySettingsRow(platform=platform, community=community, shadow=shadow, updated_by=actor)
                )
            else:
                row.shadow, row.updated_by, row.updated_at = shadow, actor, utcnow()
            session.add(
                AuditRow(
                    actor=actor,
                    action="community.shadow",
                    target_type="community",
                    target_id=f"{platform}:{community}",
                    origin=origin,
                    details={"shadow": shadow},
                )
            )

        self.transaction(work)

    def audit(
        self, actor: str, action: str, target_type: str, target_id: str, origin: str, details: dict[str, Any]
    ) -> None:
        self.transaction(
            lambda s: s.add(
                AuditRow(
                    actor=actor,
                    action=action,
                    target_type=target_type,
                    target_id=target_id,
                    origin=origin,
                    details=details,
                )
            )
        )

    def ping(self) -> None:
        self.transaction(lambda session: session.execute(select(1)))
