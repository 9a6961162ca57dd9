"""Builds the configured scorers and the shared embedding model (loading is slow: done once)."""

from __future__ import annotations

import logging

from bot.config import ScorersConfig
from model.embedding import Embedder
from moderation.counters import Counters, InMemoryCounters
from moderation.scoring import Scorer, ScorerError
from moderation.spam import SpamRules, SpamSettings

log = logging.getLogger(__name__)


def build_scorers(cfg: ScorersConfig) -> tuple[list[Scorer], Embedder | None]:
    scorers: list[Scorer] = []
    if cfg.profanity.enabled:
        from model.profanity import ProfanityScorer

        scorers.append(ProfanityScorer(span_threshold=cfg.profanity.span_threshold))
    if cfg.detoxify.enabled:
        from model.detox import DetoxifyScorer

        d = cfg.detoxify
        scorers.append(
            DetoxifyScorer(
                model_type=d.model_type,
                checkpoint=d.checkpoint,
                huggingface_config_path=d.huggingface_config_path,
                device=d.device,
                download=d.download,
                batch_size=d.batch_size,
            )
        )
    if cfg.head.enabled:
        from model.heads import Head, HeadScorer

        scorers.append(HeadScorer(Head.load(cfg.head.artifact)))
    if not scorers:
        raise ScorerError("no scorer is enabled: enable [scorers.profanity], [scorers.head] or [scorers.detoxify]")
    embedder = None
    if cfg.embedding.enabled or any(s.needs_embedding for s in scorers):
        e = cfg.embedding
        embedder = Embedder(model_dir=e.model_dir, device=e.device, batch_size=e.batch_size)
    for s in scorers:
        log.info("scorer %s ready (%s; categories %s)", s.name, s.version, ", ".join(s.categories))
    return scorers, embedder


def build_spam_rules(cfg: ScorersConfig) -> SpamRules | None:
    s = cfg.spam
    if not s.enabled:
        return None
    counters: Counters
    if s.redis_url:
        from bot.counters import RedisCounters

        counters = RedisCounters(s.redis_url)
    else:
        counters = InMemoryCounters()
    settings = SpamSettings(
        s.author_burst,
        s.burst_seconds,
        s.community_burst,
        s.duplicate_accounts,
        s.duplicate_seconds,
        s.max_links,
        s.max_mentions,
        s.new_account_hours,
    )
    return SpamRules(counters, settings)
