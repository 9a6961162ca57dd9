"""The HTTP side of the Perspective-compatible API: keys, quotas, languages, and the two methods.

A comment's words never reach a log line or a metric: logs name the key, the attributes and the
outcome only. Nothing about a comment is written unless `[api] store_comments` is on and the
request did not say doNotStore.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.config import ApiConfig
from bot.perspective import wire
from bot.perspective.attributes import ATTRIBUTES, PERSPECTIVE_ONLY, Served, score_of
from bot.perspective.discovery import discovery_document
from bot.perspective.scoring import Scoring, api_post, sentences
from bot.storage.api_keys import KEY_PREFIX, ApiKey, Suggestion, key_hash
from bot.storage.gateway import DatabaseThread
from bot.storage.store import Store
from moderation.types import Decision

log = logging.getLogger(__name__)

SERVICE = "commentanalyzer.googleapis.com"
MAX_BODY = 2 * 1024 * 1024
KEY_CACHE_SECONDS = 5.0
"""How long a key lookup is remembered (a revoked key stops within this); saves a database round
trip on every request."""
_KEY_CACHE_SIZE = 10_000
KEY_SHAPE = re.compile(KEY_PREFIX + r"[A-Za-z0-9_-]{40}")
"""What `modbot api-key add` makes; anything else is refused without a database round trip."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class Quotas:
    """A token bucket per key: `qps` a second, bursts of up to one second's worth (at least 1)."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, qps: float, now: float) -> bool:
        size = max(1.0, qps)
        bucket = self._buckets.setdefault(key, _Bucket(size, now))
        bucket.tokens = min(size, bucket.tokens + (now - bucket.at) * qps)
        bucket.at = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True


def _quota_error(key: ApiKey, qps: float) -> wire.ApiError:
    limit = "Analysis requests per second per key"
    return wire.ApiError(
        429,
        "RESOURCE_EXHAUSTED",
        f"Quota exceeded for quota metric 'Analysis requests (AnalyzeComment)' and limit '{limit}' "
        f"of service '{SERVICE}' for consumer 'key:{key.name}'.",
        [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {"quota_limit_value": f"{qps:g}", "consumer": f"key:{key.name}", "service": SERVICE},
            }
        ],
    )


_BAD_KEY = wire.ApiError(
    400,
    "INVALID_ARGUMENT",
    "API key not valid. Please pass a valid API key.",
    [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": SERVICE},
        }
    ],
)
_NO_KEY = wire.ApiError(
    403,
    "PERMISSION_DENIED",
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API.",
)


MAX_SPANS = 100
"""Sentences scored on their own at most; the rest of a longer comment is one last span, so a
comment of 10,000 one-letter sentences cannot hold the scoring thread."""


def _capped(parts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if len(parts) <= MAX_SPANS:
        return parts
    return [*parts[: MAX_SPANS - 1], (parts[MAX_SPANS - 1][0], parts[-1][1])]


def _community(key: ApiKey, asked: str | None) -> str:
    """A key made for a community writes only there, whatever the request names."""
    return key.community or asked or "api"


def _english(languages: Sequence[str]) -> bool:
    return any(lang.lower() == "en" or lang.lower().startswith("en-") for lang in languages)


class PerspectiveApi:
    def __init__(
        self,
        config: ApiConfig,
        store: Store,
        scoring: Scoring,
        served: dict[str, Served],
        detect: Callable[[str], list[str]],
        db: DatabaseThread,
    ) -> None:
        """`db`: the process's database thread, which every store call goes through."""
        self.config = config
        self.store = store
        self.db = db
        self.scoring = scoring
        self.served = served
        self.detect = detect
        self.quotas = Quotas()
        self._keys: dict[str, tuple[ApiKey | None, float]] = {}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/v1alpha1/comments:analyze", self._answering(self.analyze))
        app.router.add_post("/v1alpha1/comments:suggestscore", self._answering(self.suggest))
        app.router.add_get("/$discovery/rest", self.discovery)
        app.router.add_get("/healthz", self.health)
        return app

    def _answering(self, method: Callable[[ApiKey, Any], Any]) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            started = time.perf_counter()
            name = "-"
            try:
                key = await self._key(request)
                name = key.name
                body = await _json(request)
                answer = await method(key, body)
                status = 200
            except wire.ApiError as error:
                answer, status = error.body(), error.code
            except Exception as exc:  # one failed request is a 500 for that request, never a stopped API
                # The type only: a database error's message would quote the comment it was storing.
                log.error("api %s key=%s failed: %s", request.path, name, type(exc).__name__)
                answer, status = wire.ApiError(500, "INTERNAL", "Internal error encountered.").body(), 500
            log.debug("api %s key=%s %d %.1f ms", request.path, name, status, (time.perf_counter() - started) * 1000)
            return web.json_response(answer, status=status)

        return handler

    async def _key(self, request: web.Request) -> ApiKey:
        given = request.query.get("key") or request.headers.get("x-goog-api-key")
        if not given:
            raise _NO_KEY
        key = await self._lookup(given) if KEY_SHAPE.fullmatch(given) else None
        if key is None:
            raise _BAD_KEY
        qps = key.qps if key.qps is not None else self.config.default_qps
        if not self.quotas.take(key.name, qps, time.monotonic()):
            raise _quota_error(key, qps)
        return key

    async def _lookup(self, given: str) -> ApiKey | None:
        now = time.monotonic()
        digest = key_hash(given)
        cached = self._keys.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        key = await self.db(self.store.api_key, given)
        if len(self._keys) >= _KEY_CACHE_SIZE:  # a spray of made-up keys cannot grow it without bound
            self._keys.clear()
        self._keys[digest] = (key, now + KEY_CACHE_SECONDS)
        return key

    def _languages(self, request: wire.AnalyzeRequest | wire.SuggestRequest) -> tuple[list[str], list[str]]:
        detected = self.detect(request.text)
        effective = list(request.languages) or detected[:1]
        if not effective:
            raise wire.invalid("Unable to detect language", wire.ErrorType.LANGUAGE_DETECTION_FAILED)
        return effective, detected

    def _attributes(self, request: wire.AnalyzeRequest, english: bool, detected: list[str]) -> list[wire.Requested]:
        out = []
        for wanted in request.attributes:
            served = self.served.get(wanted.name)
            if served is None:
                if request.drop_unsupported:
                    continue
                if wanted.name in ATTRIBUTES or wanted.name in PERSPECTIVE_ONLY:
                    raise wire.invalid(
                        f"Attribute {wanted.name} is not served by this modbot: it has no model for it "
                        f"(served: {', '.join(sorted(self.served)) or 'none'})"
                    )
                raise wire.invalid(f"Unknown requested attribute: {wanted.name}")
            if wanted.version is not None and wanted.version != served.number:
                serving = f"{wanted.name}@{served.number}" if served.number else "an unnumbered local model"
                raise wire.invalid(
                    f"Attribute {wanted.key} is not served here: this modbot serves {serving} "
                    f"({', '.join(served.versions)})"
                )
            if not english:
                if request.drop_unsupported:
                    continue
                languages = ", ".join(request.languages or detected)
                raise wire.invalid(
                    f"Attribute {wanted.name} does not support request languages: {languages}",
                    wire.ErrorType.LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE,
                    languageNotSupportedByAttributeError={"detectedLanguages": detected, "attribute": wanted.name},
                )
            out.append(wanted)
        return out

    async def analyze(self, key: ApiKey, body: Any) -> dict[str, Any]:
        request = wire.analyze_request(body)
        effective, detected = self._languages(request)
        wanted = self._attributes(request, _english(effective), detected)
        parts = _capped(sentences(request.text)) if request.spans else []
        texts = [request.text] + ([request.text[b:e] for b, e in parts] if len(parts) > 1 else [])
        decisions = await self.scoring.decide(texts)
        edges = wire.utf16_offsets(request.text, [p for part in parts for p in part]) if len(parts) > 1 else []
        scores = {}
        for one in wanted:
            attribute = self.served[one.name].attribute
            summary = score_of(attribute, decisions[0])
            if edges:
                spans = [(edges[2 * i], edges[2 * i + 1], score_of(attribute, d)) for i, d in enumerate(decisions[1:])]
            else:
                spans = [(0, wire.utf16_length(request.text), summary)]
            if (answer := wire.attribute_scores(summary, spans, one.threshold)) is not None:
                scores[one.key] = answer
        if self.config.store_comments and not request.do_not_store:
            await self.db(self._keep, request.text, _community(key, request.community), decisions[0])
        return wire.analyze_response(scores, effective, detected, request.client_token)

    def _keep(self, text: str, community: str, decision: Decision) -> None:
        post = api_post(text, community, uuid.uuid4().hex, datetime.now(UTC))
        for row, accepted in self.store.accept([post]):
            self.store.record([(row, accepted, decision, [])], decided_by="api")

    async def suggest(self, key: ApiKey, body: Any) -> dict[str, Any]:
        request = wire.suggest_request(body)
        _, detected = self._languages(request)
        suggestions = []
        for written, value in request.scores:
            name = written.split("@", 1)[0]
            attribute = ATTRIBUTES.get(name)
            if attribute is None and name not in PERSPECTIVE_ONLY:
                raise wire.invalid(f"Unknown requested attribute: {name}")
            category = attribute.categories[0] if attribute is not None else None
            suggestions.append(Suggestion(name, category, value))
        text = request.text if self.config.store_comments else None
        community = _community(key, request.community)
        await self.db(self.store.suggest_scores, key.name, community, text, suggestions, request.client_token)
        out: dict[str, Any] = {"detectedLanguages": detected}
        if request.languages:
            out["requestedLanguages"] = list(request.languages)
        if request.client_token is not None:
            out["clientToken"] = request.client_token
        return out

    async def health(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True, "attributes": {n: s.versions for n, s in self.served.items()}})

    async def discovery(self, request: web.Request) -> web.Response:
        root = f"{request.scheme}://{request.host}/"
        return web.json_response(discovery_document(root))


async def _json(request: web.Request) -> Any:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise wire.invalid(f"Request is larger than {MAX_BODY} bytes.") from None
    try:
        return json.loads(raw or b"{}")
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, a 5,000-digit number, deep nesting
        raise wire.invalid(f"Invalid JSON payload received. {type(exc).__name__}") from None
