"""Perspective's JSON in and out: requests read into typed values, every refusal as Google's
error envelope with the message and status Perspective gives for it (docs/perspective.md lists
them), and responses in Perspective's shape. Pure: no scoring, no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAX_COMMENT_BYTES = 20_480
"""Perspective's documented limit on comment.text, in UTF-8 bytes."""
MAX_CONTEXT_BYTES = 1_000_000
MAX_TOKEN = 200
"""clientToken and communityId: longer ones are refused (they are stored in 200-character columns)"""
ERROR_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"


class ErrorType(StrEnum):
    COMMENT_TOO_LONG = "COMMENT_TOO_LONG"
    COMMENT_EMPTY = "COMMENT_EMPTY"
    NO_REQUESTED_ATTRIBUTES = "NO_REQUESTED_ATTRIBUTES"
    LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE = "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    LANGUAGE_DETECTION_FAILED = "LANGUAGE_DETECTION_FAILED"
    INVALID_REQUEST = "INVALID_REQUEST"


@dataclass
class ApiError(Exception):
    """An answer that is not a score: HTTP code, Google status, message, details."""

    code: int
    status: str
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid(message: str, kind: ErrorType = ErrorType.INVALID_REQUEST, **extra: Any) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message, [{"@type": ERROR_TYPE, "errorType": kind.value, **extra}])


@dataclass(frozen=True, slots=True)
class Requested:
    key: str
    """as the client wrote it (`TOXICITY@1`): the response mirrors it"""
    name: str
    version: int | None
    threshold: float | None


@dataclass(frozen=True, slots=True)
class AnalyzeRequest:
    text: str
    attributes: tuple[Requested, ...]
    spans: bool
    languages: tuple[str, ...]
    do_not_store: bool
    client_token: str | None
    community: str | None
    drop_unsupported: bool


@dataclass(frozen=True, slots=True)
class SuggestRequest:
    text: str
    scores: tuple[tuple[str, float], ...]
    """(attribute as written, suggested summary value)"""
    languages: tuple[str, ...]
    client_token: str | None
    community: str | None


def _object(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid(f"Invalid value at '{where}': expected an object")
    return value


def _string(value: object, where: str, default: str | None = None) -> str | None:
    if value is None:
        return default
    if not isinstance(value, str):
        raise invalid(f"Invalid value at '{where}' ({type(value).__name__}), expected a string")
    return value


def _short(value: object, where: str) -> str | None:
    text = _string(value, where)
    if text is not None and len(text) > MAX_TOKEN:
        raise invalid(f"Invalid value at '{where}': at most {MAX_TOKEN} characters")
    return text


def _flag(value: object, where: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(f"Invalid value at '{where}' ({type(value).__name__}), expected a boolean")
    return value


def comment_text(body: Mapping[str, Any]) -> str:
    comment = _object(body.get("comment"), "comment")
    kind = _string(comment.get("type"), "comment.type", "PLAIN_TEXT")
    if kind not in ("PLAIN_TEXT", "TEXT_TYPE_UNSPECIFIED"):
        message = "Unknown text type" if kind != "HTML" else "Currently, only 'PLAIN_TEXT' comments are supported"
        raise invalid(message)
    text = _string(comment.get("text"), "comment.text", "") or ""
    if not text.strip():
        raise invalid("Comment must be non-empty.", ErrorType.COMMENT_EMPTY)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_COMMENT_BYTES:
        raise invalid(
            f"Comment text was too many bytes. Value ({size}) exceeded limit ({MAX_COMMENT_BYTES}).",
            ErrorType.COMMENT_TOO_LONG,
        )
    _context(body.get("context"))
    return text


def _context(value: object) -> None:
    """Accepted and checked for shape and size, not used: modbot scores the comment alone."""
    context = _object(value, "context")
    if context.get("entries") and context.get("articleAndParentComment"):
        raise invalid("Context can have either entries or article_and_parent_comment, but both fields were populated.")
    if len(repr(context).encode()) > MAX_CONTEXT_BYTES:
        raise invalid("Context is too long.")


_NAME = re.compile(r"^([A-Z][A-Z0-9_]*)(?:@([0-9]{1,6}))?$")


def _requested(attributes: Mapping[str, Any]) -> tuple[Requested, ...]:
    if not attributes:
        raise invalid("Missing requested_attributes", ErrorType.NO_REQUESTED_ATTRIBUTES)
    out = []
    for key, params in attributes.items():
        match = _NAME.match(key) if isinstance(key, str) else None
        if match is None:
            raise invalid(f"Unknown requested attribute: {key}")
        params = _object(params, f"requested_attributes[{key}]")
        score_type = _string(params.get("scoreType"), f"requested_attributes[{key}].score_type", "PROBABILITY")
        if score_type not in ("PROBABILITY", "SCORE_TYPE_UNSPECIFIED"):
            raise invalid(f"Requested score type {score_type} is not supported by attribute {match[1]}")
        threshold = params.get("scoreThreshold")
        if isinstance(threshold, Mapping):  # the FloatValue wrapper, as some clients send it
            threshold = threshold.get("value")
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1
        ):
            raise invalid(f"Invalid value at 'requested_attributes[{key}].score_threshold', expected 0 to 1")
        out.append(Requested(key, match[1], int(match[2]) if match[2] else None, threshold))
    return tuple(out)


def _languages(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid("Invalid value at 'languages', expected a list of language codes")
    return tuple(v.strip() for v in value if v.strip())


def analyze_request(body: object) -> AnalyzeRequest:
    body = _object(body, "request")
    return AnalyzeRequest(
        text=comment_text(body),
        attributes=_requested(_object(body.get("requestedAttributes"), "requested_attributes")),
        spans=_flag(body.get("spanAnnotations"), "span_annotations"),
        languages=_languages(body.get("languages")),
        do_not_store=_flag(body.get("doNotStore"), "do_not_store"),
        client_token=_short(body.get("clientToken"), "client_token"),
        community=_short(body.get("communityId"), "community_id"),
        drop_unsupported=_flag(body.get("dropUnsupportedAttributes"), "drop_unsupported_attributes"),
    )


def suggest_request(body: object) -> SuggestRequest:
    body = _object(body, "request")
    scores = _object(body.get("attributeScores"), "attribute_scores")
    if not scores:
        raise invalid("attribute_scores must not be empty")
    out = []
    for key, value in scores.items():
        summary = _object(_object(value, f"attribute_scores[{key}]").get("summaryScore"), "summary_score")
        number = summary.get("value")
        if isinstance(number, bool) or not isinstance(number, int | float) or not 0 <= number <= 1:
            raise invalid(f"attribute_scores[{key}].summary_score.value must be a number from 0 to 1")
        out.append((str(key), float(number)))
    return SuggestRequest(
        text=comment_text(body),
        scores=tuple(out),
        languages=_languages(body.get("languages")),
        client_token=_short(body.get("clientToken"), "client_token"),
        community=_short(body.get("communityId"), "community_id"),
    )


def utf16_length(text: str) -> int:
    """Perspective's offsets count UTF-16 code units, as JavaScript strings do."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_offsets(text: str, positions: Sequence[int]) -> list[int]:
    """Code-point positions (ascending) as UTF-16 offsets, in one pass over the text."""
    out, units, at = [], 0, 0
    for position in positions:
        units += utf16_length(text[at:position])
        at = position
        out.append(units)
    return out


def _score(value: float) -> dict[str, Any]:
    return {"value": round(float(value), 7), "type": "PROBABILITY"}


def attribute_scores(
    summary: float, spans: Sequence[tuple[int, int, float]], threshold: float | None
) -> dict[str, Any] | None:
    """One attribute's answer; spans and summary under the client's threshold are left out, and
    the attribute with them when nothing is left."""
    out: dict[str, Any] = {}
    kept = [(b, e, s) for b, e, s in spans if threshold is None or s >= threshold]
    if kept:
        out["spanScores"] = [{"begin": b, "end": e, "score": _score(s)} for b, e, s in kept]
    if threshold is None or summary >= threshold:
        out["summaryScore"] = _score(summary)
    return out or None


def analyze_response(
    scores: Mapping[str, dict[str, Any]], languages: Sequence[str], detected: Sequence[str], client_token: str | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"attributeScores": dict(scores), "languages": list(languages)}
    out["detectedLanguages"] = list(detected)
    if client_token is not None:
        out["clientToken"] = client_token
    return out
