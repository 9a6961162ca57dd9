"""AT Protocol records -> modbot's plain types. Nothing from the atproto SDK goes further."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moderation.types import Author, Post

PLATFORM = "bluesky"
POST_COLLECTION = "app.bsky.feed.post"
MAX_RECORD_TEXT = 100_000
"""Bluesky posts are at most 300 graphemes; a record this long was not made by an honest client."""


class RecordError(ValueError):
    """A record that cannot be a post; the message says why."""


def post_from_record(
    repo: str, rkey: str, cid: str, record: dict[str, Any], community: str, author: Author | None = None
) -> Post:
    """A raw `app.bsky.feed.post` record (as decoded from the firehose's CAR blocks) as a Post.

    Records arrive as untrusted dicts (a PDS stores what a client sends when validation is off),
    so every field is checked here. Alt texts of embedded images are appended to the text so that
    they are scored too."""
    if record.get("$type") != POST_COLLECTION:
        raise RecordError(f"record type {_described(record.get('$type'))} is not {POST_COLLECTION}")
    text = record.get("text")
    if not isinstance(text, str):
        raise RecordError(f"post text is {type(text).__name__}, not a string")
    if len(text) > MAX_RECORD_TEXT:
        raise RecordError(f"post text is {len(text)} characters (over {MAX_RECORD_TEXT})")
    alts = [str(img["alt"]) for img in _images(record.get("embed")) if isinstance(img.get("alt"), str)]
    full_text = text + "".join(f"\n[image: {alt}]" for alt in alts if alt)
    mentions, links, tags = _facets(record.get("facets"))
    reply_field = record.get("reply")
    reply: dict[str, Any] = reply_field if isinstance(reply_field, dict) else {}
    uri = f"at://{repo}/{POST_COLLECTION}/{rkey}"
    langs_field = record.get("langs")
    langs: list[Any] = langs_field if isinstance(langs_field, list) else []
    return Post(
        platform=PLATFORM,
        community=community,
        channel=_uri(reply.get("root")) or uri,
        id=uri,
        author=author or Author(id=repo),
        text=full_text,
        created_at=_time(record.get("createdAt")),
        reply_to=_uri(reply.get("parent")),
        thread_root=_uri(reply.get("root")),
        links=tuple(links),
        mentions=tuple(mentions),
        platform_ref={
            "uri": uri,
            "cid": cid,
            "repo": repo,
            "root": _ref(reply.get("root")) or {"uri": uri, "cid": cid},
            "tags": tags,
            "langs": [lang for lang in langs if isinstance(lang, str)][:8],
        },
    )


def _described(value: Any) -> str:
    """A value for an error message, bounded: a 5,000-digit integer has no repr to give."""
    return repr(value[:80]) if isinstance(value, str) else type(value).__name__


def _images(embed: Any) -> list[dict[str, Any]]:
    if not isinstance(embed, dict):
        return []
    images = embed.get("images")
    if isinstance(images, list):
        return [i for i in images if isinstance(i, dict)]
    media = embed.get("media")  # recordWithMedia
    return _images(media) if isinstance(media, dict) else []


def _facets(facets: Any) -> tuple[list[str], list[str], list[str]]:
    mentions: list[str] = []
    links: list[str] = []
    tags: list[str] = []
    if not isinstance(facets, list):
        return mentions, links, tags
    for facet in facets:
        features = facet.get("features") if isinstance(facet, dict) else None
        for feature in features if isinstance(features, list) else []:
            if not isinstance(feature, dict):
                continue
            kind = feature.get("$type")
            if not isinstance(kind, str):
                continue
            if kind.endswith("#mention") and isinstance(feature.get("did"), str):
                mentions.append(feature["did"])
            elif kind.endswith("#link") and isinstance(feature.get("uri"), str):
                links.append(feature["uri"])
            elif kind.endswith("#tag") and isinstance(feature.get("tag"), str):
                tags.append(feature["tag"])
    return mentions, links, tags


def _uri(ref: Any) -> str | None:
    return ref.get("uri") if isinstance(ref, dict) and isinstance(ref.get("uri"), str) else None


def _ref(ref: Any) -> dict[str, str] | None:
    if isinstance(ref, dict) and isinstance(ref.get("uri"), str) and isinstance(ref.get("cid"), str):
        return {"uri": ref["uri"], "cid": ref["cid"]}
    return None


def _time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def rkey_of(uri: str) -> str:
    return uri.rsplit("/", 1)[-1]
