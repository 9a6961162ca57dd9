"""Builds the configured scorers and the shared embedding model (loading is slow: done once)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.config import ClaimsConfig, ScorersConfig
from bot.storage.store import Store
from model.embedding import Embedder
from model.heads import HeadScorer
from moderation.counters import Counters, InMemoryCounters
from moderation.domains import DomainListError, DomainReputation
from moderation.scoring import Cascade, Scorer, ScorerError
from moderation.spam import SpamRules, SpamSettings

if TYPE_CHECKING:
    from model.claimmap import ClaimMap

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Registered:
    """A scorer modbot can build: its `[scorers.<section>]` config section and how to build it
    from the whole scorers config. Adding a scorer is one entry here (docs/extending.md)."""

    section: str
    build: Callable[[ScorersConfig], Scorer | Cascade]


def _profanity(cfg: ScorersConfig) -> Scorer:
    from model.profanity import ProfanityScorer

    return ProfanityScorer(span_threshold=cfg.profanity.span_threshold)


def _detoxify(cfg: ScorersConfig) -> Scorer | Cascade:
    from model.detox import DetoxifyScorer

    d = cfg.detoxify
    detoxify = DetoxifyScorer(
        model_type=d.model_type,
        checkpoint=d.checkpoint,
        huggingface_config_path=d.huggingface_config_path,
        device=d.device,
        download=d.download,
        batch_size=d.batch_size,
    )
    return Cascade(detoxify, d.cascade_low, d.cascade_high) if d.cascade else detoxify


def _head(cfg: ScorersConfig) -> Scorer:
    from model.heads import Head

    return HeadScorer(Head.load(cfg.head.artifact), cfg.head.identity_swaps)


def _spam_text(cfg: ScorersConfig) -> Scorer:
    from model.spamtext import SpamTextModel, SpamTextScorer

    return SpamTextScorer(SpamTextModel.load(cfg.spam_text.artifact))


def _native(cfg: ScorersConfig) -> Scorer:
    from model.native import NativeModels, NativeScorer

    return NativeScorer(NativeModels.load(cfg.native.artifact, cfg.native.languages))


SCORERS: tuple[Registered, ...] = (
    Registered("profanity", _profanity),
    Registered("detoxify", _detoxify),
    Registered("head", _head),
    Registered("spam_text", _spam_text),
    Registered("native", _native),
)
"""Every scorer that needs only its config; the fact-check matcher (`[scorers.claims]`) also needs
the store and the shared embedding, so `build_scorers` adds it last."""


def build_scorers(cfg: ScorersConfig, store: Store | None = None) -> tuple[list[Scorer | Cascade], Embedder | None]:
    """The configured scorers and, if any needs it, the shared embedding model. The claim matcher
    needs the store (its fact-checks live there). detoxify comes wrapped in a Cascade when it is
    to see only the posts the others are unsure of."""
    scorers = [entry.build(cfg) for entry in SCORERS if getattr(cfg, entry.section).enabled]
    claims = cfg.claims.enabled and store is not None
    if scorers and not claims and all(isinstance(s, Cascade) for s in scorers):
        raise ScorerError(
            "[scorers.detoxify] cascade = true needs a cheaper abuse scorer to ask first: enable "
            "[scorers.profanity] or [scorers.head], or set cascade = false"
        )
    if not scorers and not claims:
        raise ScorerError(
            "no scorer is enabled: enable "
            + ", ".join(f"[scorers.{e.section}]" for e in SCORERS[:-1])
            + f" or [scorers.{SCORERS[-1].section}]"
        )
    embedder = _shared_embedder(cfg, scorers, claims)
    if claims:  # after the embedder: the re-ranker encodes word pieces with it
        assert store is not None and embedder is not None
        scorers.append(_claim_scorer(store, cfg, embedder))
    for s in scorers:
        one = s.scorer if isinstance(s, Cascade) else s
        log.info("scorer %s ready (%s; categories %s)", one.name, one.version, ", ".join(one.categories))
        if isinstance(s, Cascade):
            log.info("scorer %s sees only posts scored %.2f-%.2f by the others", one.name, s.low, s.high)
    return scorers, embedder


def _shared_embedder(cfg: ScorersConfig, scorers: list[Scorer | Cascade], claims: bool) -> Embedder | None:
    """The one embedding model every scorer that needs one shares, carrying the head's fine-tuned
    branch when there is a head; None when no scorer needs it."""
    head = next((s.head for s in scorers if isinstance(s, HeadScorer)), None)
    sentences = cfg.embedding.enabled or claims or any(_needs_sentences(s) for s in scorers)
    if not sentences and not any(_needs_embedding(s) for s in scorers):
        return None
    e = cfg.embedding
    branch = head.branch if head is not None else None
    embedder = Embedder(e.model_dir, e.device, e.batch_size, branch, e.precision)
    embedder.sentences = sentences
    trained_on = head.meta.get("embedding") if head is not None and branch is not None else None
    if trained_on is not None and trained_on != embedder.version:
        raise ScorerError(
            f"the head's fine-tuned layers belong to {trained_on}, but the embedding model is {embedder.version}: "
            "use that model or a head trained on yours (modbot train)"
        )
    return embedder


def _needs_embedding(s: Scorer | Cascade) -> bool:
    return (s.scorer if isinstance(s, Cascade) else s).needs_embedding


def _needs_sentences(s: Scorer | Cascade) -> bool:
    """Whether the scorer reads the sentence embedding itself, not only a fine-tuned branch's vector."""
    return _needs_embedding(s) and not (isinstance(s, HeadScorer) and not s.head.uses_embedding)


def build_domain_list(cfg: ScorersConfig) -> DomainReputation | None:
    """The moderators' domain list, read once at start; a bad line names the file and line."""
    d = cfg.domains
    if not d.enabled:
        return None
    if d.file is None:
        raise ScorerError("[scorers.domains] is enabled but file is not set")
    try:
        text = d.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScorerError(f"cannot read the domain list {d.file}: {exc}") from exc
    try:
        domains = DomainReputation.parse(text, str(d.file))
    except DomainListError as exc:
        raise ScorerError(str(exc)) from exc
    log.info("domain list %s: %d domains", d.file, len(domains.listings))
    return domains


def build_spam_rules(cfg: ScorersConfig, shared_redis: str = "") -> SpamRules | None:
    """`shared_redis`: the scale-out Redis, used for counters when [scorers.spam] names none, so
    every worker counts every post."""
    s = cfg.spam
    if not s.enabled:
        return None
    counters: Counters
    settings = _spam_settings(cfg)
    if s.redis_url or shared_redis:
        from bot.runtime.counters import RedisCounters

        counters = RedisCounters(s.redis_url or shared_redis, horizon_seconds=settings.horizon)
    else:
        counters = InMemoryCounters(horizon_seconds=settings.horizon)
    return SpamRules(counters, settings)


def _spam_settings(cfg: ScorersConfig) -> SpamSettings:
    s = cfg.spam
    return SpamSettings(
        s.author_burst,
        s.burst_seconds,
        s.community_burst,
        s.duplicate_accounts,
        s.duplicate_seconds,
        s.max_links,
        s.max_mentions,
        s.new_account_hours,
    )


def load_claim_map(cfg: ClaimsConfig, model: str) -> ClaimMap | None:
    """The configured fact-check map, or None with `adapt = false`; one fitted on another
    embedding model is refused."""
    from model.claimmap import ClaimMap

    claim_map = ClaimMap.load(cfg.map) if cfg.adapt else None
    if claim_map is not None and claim_map.meta.get("embedding", model) != model:
        raise ScorerError(
            f"the fact-check map was fitted on {claim_map.meta['embedding']} embeddings, but the embedding model is "
            f"{model}: train one on yours (modbot train claims) or set [scorers.claims] adapt = false"
        )
    return claim_map


def _claim_scorer(store: Store, cfg: ScorersConfig, embedder: Embedder) -> Scorer:
    import numpy as np

    from bot.ops.claims import indexed_text
    from model.claims import Claim, ClaimIndex, ClaimScorer

    model = embedder.version
    rows = store.claims(model)
    if not rows:
        log.warning("claims matching is enabled but no fact-checks are imported (modbot claims import FILE)")
    claim_map = load_claim_map(cfg.claims, model)
    try:
        index = ClaimIndex(
            [Claim(r.id, indexed_text(r.claim, r.title), r.rating, r.url, r.publisher) for r in rows],
            np.asarray([r.embedding for r in rows], dtype=np.float32),
            claim_map,
            embedder if cfg.claims.rerank else None,
            cfg.claims.rerank_from,
        )
    except ValueError as exc:
        raise ScorerError(f"[scorers.claims]: {exc}") from exc
    mapped = f"-{claim_map.version}" if claim_map is not None else ""
    if index.reranker is not None:
        mapped += f"-rerank{cfg.claims.rerank_from:g}"
    return ClaimScorer(index, f"claims-{len(rows)}-{rows[-1].id if rows else 0}{mapped}")
