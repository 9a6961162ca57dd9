"""Turning policy's `label` actions into signed labels: which value a category emits, when it
lapses, what its public reason says, and negations when a moderator overturns. Issuing is
idempotent: a label that is already in force on the subject is not issued again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.adapters.base import ActionFailed
from bot.config.labeler import LabelerConfig
from bot.labeler.signing import SigningKey, unsigned
from bot.storage.labels import IssuedLabel, LabelRow, Labels

Db = Callable[..., Awaitable[Any]]


def atproto_time(at: datetime) -> str:
    """atproto's datetime form, milliseconds and Z: one spelling, so stored times compare as text."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _in_force(labels: list[IssuedLabel], src: str, now: str) -> list[IssuedLabel]:
    """The labels `src` has on the subject now: each (uri, val)'s newest row, not a negation, not lapsed."""
    return [x for x in labels if x.src == src and not x.neg and not x.expired(now)]


class LabelIssuer:
    """The labeler's writing side. In the service its store calls run on `db` (the service's
    database thread); the CLI, which only re-signs, calls the store directly."""

    def __init__(self, store: Labels, key: SigningKey, config: LabelerConfig, db: Db | None = None) -> None:
        self.store = store
        self.key = key
        self.config = config
        self.db = db

    async def label(self, src: str, uri: str, cid: str | None, category: str, rule: str, case_id: int | None) -> str:
        val = self.config.categories.get(category)
        if val is None:
            raise ActionFailed(f"category {category!r} emits no label ([adapters.bluesky.labeler] categories)", False)
        reason = f"{category}: {rule}" if rule else category
        issued = await self._db(self.issue, src, uri, cid, [val], category, reason, case_id)
        return f"labelled {val!r} (seq {issued[0].seq})" if issued else f"{val!r} was already on the post"

    async def unlabel(self, src: str, uri: str, reason: str) -> str:
        ended = await self._db(self.negate, src, uri, reason)
        return f"negated {', '.join(repr(x.val) for x in ended)}" if ended else "no label of ours was on the post"

    async def _db(self, fn: Callable[..., list[IssuedLabel]], *args: Any) -> list[IssuedLabel]:
        result: list[IssuedLabel] = await self.db(fn, *args) if self.db is not None else fn(*args)
        return result

    def issue(
        self,
        src: str,
        uri: str,
        cid: str | None,
        vals: Sequence[str],
        category: str,
        reason: str,
        case_id: int | None = None,
        now: datetime | None = None,
    ) -> list[IssuedLabel]:
        at = now or datetime.now(UTC)

        def build(current: Callable[[str], list[IssuedLabel]]) -> list[LabelRow]:
            stamp = atproto_time(at)
            live = {x.val for x in _in_force(current(uri), src, stamp)}
            rows = []
            for val in vals:
                if val in live:
                    continue
                days = self.config.values[val].expires_days if val in self.config.values else None
                exp = atproto_time(at + timedelta(days=days)) if days else None
                rows.append(self._row(src, uri, cid, val, False, stamp, exp, category, reason, case_id))
            return rows

        return self.store.append_labels(build)

    def negate(self, src: str, uri: str, reason: str, now: datetime | None = None) -> list[IssuedLabel]:
        stamp = atproto_time(now or datetime.now(UTC))

        def build(current: Callable[[str], list[IssuedLabel]]) -> list[LabelRow]:
            live = _in_force(current(uri), src, stamp)
            return [self._row(src, uri, x.cid, x.val, True, stamp, None, x.category, reason, x.case_id) for x in live]

        return self.store.append_labels(build)

    def resign(self, src: str) -> list[IssuedLabel]:
        """After a key rotation: every label in force issued again, same content, signed by the new
        key, so subscribers that verify against the DID document's (new) key accept them."""
        stamp = atproto_time(datetime.now(UTC))

        def build(current: Callable[[str], list[IssuedLabel]]) -> list[LabelRow]:
            live = [x for x in _in_force(current("*"), src, stamp) if x.signed_by != self.key.did_key]
            return [
                self._row(src, x.uri, x.cid, x.val, False, x.cts, x.exp, x.category, x.reason, x.case_id) for x in live
            ]

        return self.store.append_labels(build)

    def _row(
        self,
        src: str,
        uri: str,
        cid: str | None,
        val: str,
        neg: bool,
        cts: str,
        exp: str | None,
        category: str,
        reason: str,
        case_id: int | None,
    ) -> LabelRow:
        draft = IssuedLabel(0, src, uri, cid, val, neg, cts, exp, b"", "", category, reason, None)
        sig = self.key.sign(unsigned(draft.wire))
        return LabelRow(
            src=src,
            uri=uri,
            cid=cid,
            val=val,
            neg=neg,
            cts=cts,
            exp=exp,
            sig=sig,
            signed_by=self.key.did_key,
            category=category,
            reason=reason[:2000],
            case_id=case_id,
        )
