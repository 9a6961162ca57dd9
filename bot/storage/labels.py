"""The labels modbot's own labeler has issued: one row per signed label, append-only, numbered by
`seq` (subscribeLabels' cursor). A label's current state is its newest row per (src, uri, val): a
negation row ends it, an `exp` in the past ends it on its own. The public reason (rule and
category, never scores) is kept next to the label for its subject's owner and the dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, LargeBinary, String, Text, func, or_, select, true
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.storage.base import Transactional
from bot.storage.schema import Base, UTCDateTime, utcnow


class LabelRow(Base):
    __tablename__ = "labels"
    __table_args__ = (Index("ix_labels_subject", "uri", "val"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    src: Mapped[str] = mapped_column(String(200))
    uri: Mapped[str] = mapped_column(String(2000))
    cid: Mapped[str | None] = mapped_column(String(200))
    val: Mapped[str] = mapped_column(String(128))
    neg: Mapped[bool] = mapped_column(Boolean, default=False)
    cts: Mapped[str] = mapped_column(String(40))
    """the creation time exactly as signed (atproto datetime, milliseconds, Z)"""
    exp: Mapped[str | None] = mapped_column(String(40))
    sig: Mapped[bytes] = mapped_column(LargeBinary)
    signed_by: Mapped[str] = mapped_column(String(200))
    """the did:key that signed it: after a key rotation, which labels were re-signed"""
    category: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    """public: the rule and category that emitted it (or the moderator's verdict), never scores"""
    case_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


@dataclass(frozen=True, slots=True)
class IssuedLabel:
    seq: int
    src: str
    uri: str
    cid: str | None
    val: str
    neg: bool
    cts: str
    exp: str | None
    sig: bytes
    signed_by: str
    category: str
    reason: str
    case_id: int | None

    @property
    def wire(self) -> dict[str, Any]:
        """The label as atproto defines it (com.atproto.label.defs#label): absent fields left out,
        `neg` only when true, as it was signed."""
        label: dict[str, Any] = {"ver": 1, "src": self.src, "uri": self.uri}
        if self.cid:
            label["cid"] = self.cid
        label["val"] = self.val
        if self.neg:
            label["neg"] = True
        label["cts"] = self.cts
        if self.exp:
            label["exp"] = self.exp
        label["sig"] = self.sig
        return label

    def expired(self, now: str) -> bool:
        return self.exp is not None and self.exp <= now


def _issued(row: LabelRow) -> IssuedLabel:
    return IssuedLabel(
        row.seq,
        row.src,
        row.uri,
        row.cid,
        row.val,
        row.neg,
        row.cts,
        row.exp,
        row.sig,
        row.signed_by,
        row.category,
        row.reason,
        row.case_id,
    )


class Labels(Transactional):
    def append_labels(self, build: Any) -> list[IssuedLabel]:
        """`build(session, current)` returns the rows to add, given a function that reads a
        subject's current labels in the same transaction (so an idempotence check and the insert
        it guards see one state)."""

        def work(session: Session) -> list[IssuedLabel]:
            rows: list[LabelRow] = build(lambda uri: _current(session, [uri], None))
            session.add_all(rows)
            session.flush()
            return [_issued(r) for r in rows]

        result: list[IssuedLabel] = self.transaction(work)
        return result

    def labels_after(self, seq: int, limit: int = 500) -> list[IssuedLabel]:
        """Rows after `seq`, oldest first: what subscribeLabels sends from a cursor."""
        return self._label_rows(LabelRow.seq > seq, LabelRow.seq, limit)

    def last_label_seq(self) -> int:
        value: int | None = self.transaction(lambda s: s.scalar(select(func.max(LabelRow.seq))))
        return value or 0

    def current_labels(
        self, uri_patterns: Sequence[str], sources: Sequence[str] | None, after: int, limit: int
    ) -> list[IssuedLabel]:
        """The newest row of each (src, uri, val) whose subject matches a pattern (exact, or a
        prefix ending in `*`), negations included so a reader learns a label ended; by seq."""

        def work(session: Session) -> list[IssuedLabel]:
            return [r for r in _current(session, uri_patterns, sources) if r.seq > after][:limit]

        result: list[IssuedLabel] = self.transaction(work)
        return result

    def label_history(self, uri: str) -> list[IssuedLabel]:
        """Every row ever issued on the subject, oldest first (the dashboard's history)."""
        return self._label_rows(LabelRow.uri == uri, LabelRow.seq, None)

    def labels_of_case(self, case_id: int) -> list[IssuedLabel]:
        """The labels a case's decision or verdicts issued and their negations, oldest first."""
        return self._label_rows(LabelRow.case_id == case_id, LabelRow.seq, None)

    def recent_labels(self, limit: int) -> list[IssuedLabel]:
        """The newest rows first: the dashboard's view before a moderator names a subject."""
        return self._label_rows(true(), LabelRow.seq.desc(), limit)

    def _label_rows(self, where: Any, order: Any, limit: int | None) -> list[IssuedLabel]:
        def work(session: Session) -> list[IssuedLabel]:
            rows = session.scalars(select(LabelRow).where(where).order_by(order).limit(limit))
            return [_issued(r) for r in rows]

        result: list[IssuedLabel] = self.transaction(work)
        return result


def _current(session: Session, uri_patterns: Sequence[str], sources: Sequence[str] | None) -> list[IssuedLabel]:
    matches = [
        LabelRow.uri.startswith(p[:-1], autoescape=True) if p.endswith("*") else LabelRow.uri == p for p in uri_patterns
    ]
    newest = select(func.max(LabelRow.seq)).where(or_(*matches))
    if sources:
        newest = newest.where(LabelRow.src.in_(sources))
    newest = newest.group_by(LabelRow.src, LabelRow.uri, LabelRow.val)
    rows = session.scalars(select(LabelRow).where(LabelRow.seq.in_(newest)).order_by(LabelRow.seq))
    return [_issued(r) for r in rows]
