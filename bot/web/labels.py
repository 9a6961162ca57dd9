"""The labels page: every label modbot's own labeler has put on a subject (a post's at:// URI or an
account's DID) and its history — issued, re-signed after a key rotation, negated, expired — with
the public reason each carries and the case it came from. The same facts a subject's owner gets
from `org.modbot.label.explain`, so a moderator answering a complaint sees what the user sees."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from aiohttp import web

from bot.labeler.issuer import atproto_time
from bot.storage.labels import IssuedLabel
from bot.web.context import STATE, render

RECENT = 100
ACCOUNT_POSTS = 200
SUBJECT_LIMIT = 2000
_APP_URL = re.compile(r"^https://bsky\.app/profile/(did:[a-z]+:[A-Za-z0-9._:%-]+)/post/([A-Za-z0-9._~:-]+)$")


class LabelStatus(StrEnum):
    IN_FORCE = "in force"
    EXPIRED = "expired"
    NEGATED = "negated"
    """a label a later negation ended"""
    NEGATION = "negation"
    """the row that ends a label (what a moderator's overturn emits)"""
    RESIGNED = "re-signed"
    """an earlier signature of a label re-issued with the next key"""


@dataclass(frozen=True, slots=True)
class LabelLine:
    label: IssuedLabel
    status: LabelStatus


def subject_of(raw: str) -> str:
    """A post's at:// URI or an account's DID as typed or pasted; a bsky.app post link whose profile
    is a DID is turned into its URI. Raises ValueError saying what a subject looks like."""
    text = raw.strip()
    if len(text) > SUBJECT_LIMIT:
        raise ValueError(f"a subject is at most {SUBJECT_LIMIT} characters")
    if match := _APP_URL.match(text):
        return f"at://{match[1]}/app.bsky.feed.post/{match[2]}"
    if text.startswith(("at://did:", "did:")) and not any(c.isspace() for c in text):
        return text
    raise ValueError(
        "a subject is a post's at:// URI (at://did:plc:…/app.bsky.feed.post/…), an account's DID, "
        "or a bsky.app post link with the DID in it"
    )


def lines(history: list[IssuedLabel], now: datetime) -> list[LabelLine]:
    """Each row of a subject's history with what became of it, read from the next row of the same
    (source, value): a negation ended it, the same `cts` re-signed it, nothing after it means it
    stands unless it lapsed."""
    stamp = atproto_time(now)
    following: dict[int, IssuedLabel] = {}
    last: dict[tuple[str, str, str], IssuedLabel] = {}
    for x in history:
        if (before := last.get((x.src, x.uri, x.val))) is not None:
            following[before.seq] = x
        last[(x.src, x.uri, x.val)] = x
    out = []
    for x in history:
        after = following.get(x.seq)
        if x.neg:
            status = LabelStatus.NEGATION
        elif after is not None and after.neg:
            status = LabelStatus.NEGATED
        elif after is not None and after.cts == x.cts:
            status = LabelStatus.RESIGNED
        else:
            status = LabelStatus.EXPIRED if x.expired(stamp) else LabelStatus.IN_FORCE
        out.append(LabelLine(x, status))
    return out


def app_link(uri: str) -> str | None:
    """Where a person sees the subject on Bluesky (posts and accounts only)."""
    parts = uri.removeprefix("at://").split("/")
    if uri.startswith("did:"):
        return f"https://bsky.app/profile/{uri}"
    if len(parts) == 3 and parts[1] == "app.bsky.feed.post":
        return f"https://bsky.app/profile/{parts[0]}/post/{parts[2]}"
    return None


async def labels_page(request: web.Request) -> web.Response:
    """No subject: the newest labels issued. A subject: its labels in force, its history and, for
    an account, which of its posts carry labels."""
    state = request.app[STATE]
    raw = request.query.get("subject", "")
    now = datetime.now(UTC)
    if not raw.strip():
        recent = await state.db(state.store.recent_labels, RECENT)
        return render(request, "labels.html", subject="", error=None, recent=recent, history=[], posts=[], link=None)
    try:
        subject = subject_of(raw)
    except ValueError as exc:
        return render(
            request, "labels.html", 400, subject=raw[:200], error=str(exc), recent=[], history=[], posts=[], link=None
        )
    history = lines(await state.db(state.store.label_history, subject), now)
    posts: list[IssuedLabel] = []
    if subject.startswith("did:"):
        found = await state.db(state.store.current_labels, [f"at://{subject}/*"], None, 0, ACCOUNT_POSTS)
        posts = [x for x in found if not x.neg and not x.expired(atproto_time(now))]
    return render(
        request,
        "labels.html",
        subject=subject,
        error=None,
        recent=[],
        history=history,
        posts=posts,
        link=app_link(subject),
    )
