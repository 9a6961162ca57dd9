"""`modbot claims import`: fact-checks from schema.org ClaimReview JSON, CSV or the CheckThat! TSV
into the claims table, embedded once at import so matching at run time is a matrix product."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.storage.store import Store
from moderation.links import web_link
from moderation.normalise import normalise

FORMATS = ("claimreview", "csv", "checkthat")


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    claim: str
    rating: str = ""
    url: str = ""
    publisher: str = ""
    reviewed_at: datetime | None = None
    title: str = ""
    """the fact-check's headline (CheckThat! gives one): indexed with the claim, as the eval does"""

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", web_link(self.url))  # only http(s) links are kept

    @property
    def indexed(self) -> str:
        return indexed_text(self.claim, self.title)


def indexed_text(claim: str, title: str) -> str:
    """What a fact-check is embedded and searched by: its claim and its headline."""
    return f"{claim} {title}".strip()


class ImportError_(ValueError):
    """The file is not in the format it claims to be; the message says where."""


def read(path: Path, fmt: str | None = None) -> list[ClaimRecord]:
    fmt = fmt or _guess(path)
    if fmt == "claimreview":
        return list(_claimreview(path))
    if fmt == "checkthat":
        return list(_checkthat(path))
    if fmt == "csv":
        return list(_csv(path))
    raise ImportError_(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _guess(path: Path) -> str:
    if path.suffix.lower() in (".json", ".jsonld"):
        return "claimreview"
    if path.suffix.lower() == ".tsv":
        return "checkthat"
    return "csv"


def _claimreview(path: Path) -> Iterator[ClaimRecord]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportError_(f"{path}: not JSON ({exc})") from exc
    items = data.get("@graph", [data]) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ImportError_(f"{path}: expected a ClaimReview object, a list of them or an @graph")
    for n, item in enumerate(items):
        if not isinstance(item, dict) or "ClaimReview" not in str(item.get("@type", "")):
            continue
        claim = item.get("claimReviewed")
        if not isinstance(claim, str) or not claim.strip():
            raise ImportError_(f"{path}: item {n} has no claimReviewed")
        rating = _table(item.get("reviewRating"))
        author = _table(item.get("author"))
        yield ClaimRecord(
            claim.strip(),
            str(rating.get("alternateName") or rating.get("ratingValue") or ""),
            str(item.get("url") or ""),
            str(author.get("name") or ""),
            _date(item.get("datePublished")),
        )


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _csv(path: Path) -> Iterator[ClaimRecord]:
    """Columns by name: claim (or title), rating, url (or fact_check_url), publisher, date."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        fields = {name.lower().strip(): name for name in reader.fieldnames or []}
        claim_col = fields.get("claim") or fields.get("title")
        if claim_col is None:
            raise ImportError_(f"{path}: needs a 'claim' (or 'title') column; has {', '.join(fields) or 'none'}")
        url_col = fields.get("url") or fields.get("fact_check_url")
        for row in reader:
            claim = (row.get(claim_col) or "").strip().strip('"')
            if claim:
                url = (row.get(url_col) or "").strip() if url_col else ""
                if url and "://" not in url:
                    url = "https://" + url
                yield ClaimRecord(
                    claim,
                    (row.get(fields.get("rating", "")) or "").strip(),
                    url,
                    (row.get(fields.get("publisher", "")) or "").strip(),
                    _date(row.get(fields.get("date", ""))),
                )


def _checkthat(path: Path) -> Iterator[ClaimRecord]:
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row.get("vclaim"):
                title = (row.get("title") or "").strip()
                yield ClaimRecord(row["vclaim"].strip(), "", "", "Snopes (CheckThat! 2020)", title=title)


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_CHUNK = 256


def store_claims(
    store: Store,
    records: list[ClaimRecord],
    embed: Any,
    model: str,
    source: str,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Embed and insert the claims not already stored, a chunk at a time (10,000 claims take
    minutes on two cores: each chunk is stored as it is done and `progress(done, total)` told);
    returns (added, already present)."""
    keyed = {(r.url, hashlib.sha256(r.claim.encode()).hexdigest()): r for r in records}
    known = store.claim_keys()
    new = [(k, r) for k, r in keyed.items() if k not in known]
    for start in range(0, len(new), _CHUNK):
        _store_chunk(store, new[start : start + _CHUNK], embed, model, source)
        if progress is not None:
            progress(min(start + _CHUNK, len(new)), len(new))
    return len(new), len(keyed) - len(new)


def _store_chunk(
    store: Store, new: list[tuple[tuple[str, str], ClaimRecord]], embed: Any, model: str, source: str
) -> None:
    vectors = embed([normalise(r.indexed).text for _, r in new])
    store.add_claims(
        [
            {
                "claim": r.claim,
                "title": r.title,
                "claim_sha256": k[1],
                "rating": r.rating,
                "url": r.url,
                "publisher": r.publisher,
                "reviewed_at": r.reviewed_at,
                "source": source,
                "embedding_model": model,
                "embedding": list(v),
            }
            for (k, r), v in zip(new, vectors, strict=True)
        ]
    )
