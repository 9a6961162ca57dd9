"""The composition root: the store, the Decider and the action planner are built here, once, for
every entry point (the service, `--role worker`, the CLI's eval and draft commands, the bench), so
that each runs the same filter with the same parts and none reaches into another's privates."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.assistant.triggers import DraftTriggers
from bot.config import Config
from bot.runtime.scorers import build_domain_list, build_scorers, build_spam_rules
from bot.storage.db import display_url, make_engine, upgrade
from bot.storage.gateway import DatabaseThread
from bot.storage.store import Store
from model.community import CommunityFolder
from model.embedding import Embedder
from model.language import LanguageId
from moderation.actions import ActionPlanner
from moderation.decider import Decider, EmbeddingModel
from moderation.domains import DomainReputation
from moderation.scoring import Cascade, Scorer
from moderation.types import Outcome

if TYPE_CHECKING:
    from bot.perspective.server import PerspectiveApi

log = logging.getLogger(__name__)


def open_store(config: Config) -> Store:
    """The store on the configured database, migrated to the newest schema."""
    url = config.database_url()
    engine = make_engine(url)
    revision = upgrade(engine)
    log.info("database %s at schema %s", display_url(url), revision)
    return Store(engine)


def planner(config: Config) -> ActionPlanner:
    """What each outcome means on each configured platform, alerts, templated replies and drafts."""
    discord = config.adapters.discord
    bluesky = config.adapters.bluesky
    kinds: dict[str, dict[Outcome, tuple[str, ...]]] = {
        "discord": {Outcome(o): tuple(k) for o, k in discord.actions.items()},
        "bluesky": {Outcome(o): tuple(k) for o, k in bluesky.actions.items()},
    }
    alerts = ["discord"] if discord.enabled and any(g.mod_channel for g in discord.guilds.values()) else []
    replies = {"bluesky": bluesky.mention_reply} if bluesky.mention_reply else {}
    drafts = DraftTriggers(config.reply).requests if config.reply.enabled else None
    return ActionPlanner(kinds, alerts, replies, drafts)


@dataclass(frozen=True, slots=True)
class FilterStack:
    decider: Decider
    embedder: Embedder | None
    """the sentence encoder the scorers share, if any needs it; the reply assistant's knowledge
    folders are indexed with it too, so that the model is loaded once"""


def filter_stack(
    config: Config, store: Store | None = None, *, shared_counters: bool = False, rules: bool = True
) -> FilterStack:
    """The configured filter. `store`: where fact-checks and moderators' shadow switches are read
    (none for an offline eval). `shared_counters`: spam counters in [scale]'s Redis, so that every
    worker counts every post. `rules=False` leaves the spam and domain rules out, for measuring
    the scorers on texts that have no authors or times."""
    scorers, embedder = build_scorers(config.scorers, store)
    built = decider_from(config, scorers, embedder, store, shared_counters=shared_counters, rules=rules)
    return FilterStack(built, embedder)


def decider_from(
    config: Config,
    scorers: Sequence[Scorer | Cascade],
    embedder: EmbeddingModel | None,
    store: Store | None = None,
    *,
    shared_counters: bool = False,
    rules: bool = True,
    domains: DomainReputation | None = None,
) -> Decider:
    """The filter around scorers already built (the bench adds its own claim index)."""
    spam = build_spam_rules(config.scorers, config.scale.redis_url if shared_counters else "") if rules else None
    domains = domains or (build_domain_list(config.scorers) if rules else None)
    languages = LanguageId()  # a language no configured scorer reads is said to be unread, not guessed at
    built = Decider(scorers, config.build_policy(), embedder, planner(config), spam, domains, languages)
    if store is not None:  # the service and the tools on its data: its communities' own state
        run_time_settings(store, built, CommunityFolder(config.data.dir))
    return built


def run_time_settings(store: Store, decider: Decider, communities: CommunityFolder | None = None) -> None:
    """What moderators changed while running: from the store every process shares, shadow mode
    per community and the flag thresholds accepted from calibration; from the data dir, the
    communities' own models. Swapped in whole, so a batch deciding on another thread sees the
    old settings or the new, never none."""
    decider.shadow_overrides = store.shadow_overrides()
    decider.threshold_overrides = store.threshold_overrides()
    if communities is not None and (models := communities.changed()) is not None:
        decider.communities = models


def perspective_api(
    config: Config,
    store: Store,
    db: DatabaseThread,
    decider: Decider | None = None,
    thread: ThreadPoolExecutor | None = None,
) -> PerspectiveApi:
    """The scoring API over `decider`'s models (the service's, shared) or a stack of its own; with
    no spam or domain rules either way, since API comments have no authors, times or links to
    count."""
    from bot.perspective.attributes import produced_by, served
    from bot.perspective.scoring import Scoring
    from bot.perspective.server import PerspectiveApi
    from model.language import detect

    if decider is None:
        decider = filter_stack(config, store, rules=False).decider
    scorers: list[Scorer | Cascade] = [*decider.scorers, *([decider.cascade] if decider.cascade else [])]
    bare = Decider(scorers, decider.policy, decider.embedder, decider.planner)
    every = [*decider.scorers, *([decider.cascade.scorer] if decider.cascade else [])]
    scoring = Scoring(bare, config.api.batch_size, config.api.batch_wait_ms, thread)
    detect("loaded at start, not on the first request")
    return PerspectiveApi(config.api, store, scoring, served(produced_by(every)), detect, db)
