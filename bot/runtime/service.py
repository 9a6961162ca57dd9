"""`modbot run` (and `modbot scan`): adapters, pipeline and action executor on one asyncio loop.

Stopping (SIGINT/SIGTERM, or every source exhausted) happens in order: adapters stop reading,
every accepted post is decided, due actions are carried out (after a signal, for up to
`[executor] stop_seconds`; the rest stay in the outbox for the next start), then the process
exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.adapters.base import Adapter
from bot.adapters.console.adapter import ConsoleAdapter, IngestStats
from bot.assistant.drafting_loop import DraftWorker
from bot.assistant.writer import GeneratorFactory, build_writer, local_generator
from bot.config import Config, ConfigError
from bot.labeler.issuer import LabelIssuer
from bot.labeler.server import LabelerService
from bot.labeler.signing import SigningKey, key_path, load_key
from bot.ops import systemd
from bot.ops.metrics import Health, Metrics, make_health_app
from bot.review import Desk, Verdicts
from bot.runtime import wiring
from bot.runtime.executor import Executor, gives_up_early
from bot.runtime.listen import listen
from bot.runtime.pipeline import Decided, Pipeline
from bot.runtime.stream import PostStream
from bot.storage.drafts import DraftStore
from bot.storage.maintenance import purge_text
from bot.storage.quarantine import QuarantineStore
from bot.storage.schema import utcnow
from bot.storage.spool import IngestSpool
from bot.storage.store import Store
from model.community import CommunityFolder
from moderation.decider import Decider

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    ingest: dict[str, IngestStats] = field(default_factory=dict)
    decided: list[Decided] = field(default_factory=list)
    resumed: int = 0
    handled: int = 0
    """posts decided by this process, from every source (console files, Discord, Bluesky, resumed)"""
    failed: int = 0
    actions_done: int = 0
    actions_failed: int = 0
    stopped_by_signal: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass
class _Parts:
    """Everything one service process runs, built and not yet started."""

    store: Store
    decider: Decider
    pipeline: Pipeline
    executor: Executor
    drafter: DraftWorker | None
    adapters: list[Adapter]
    consoles: list[ConsoleAdapter]
    metrics: Metrics
    spool: IngestSpool | None
    labeler: LabelerService | None = None


@dataclass(frozen=True, slots=True)
class _Console:
    """What the caller (`modbot scan`, tests) says of the console source, over the config's."""

    source: str | None
    follow: bool | None
    on_progress: Callable[[IngestStats], None] | None


@dataclass(frozen=True, slots=True)
class _Secrets:
    discord_token: str | None
    bluesky_password: str | None
    labeler_key: SigningKey | None = None


async def run_service(
    config: Config,
    console_source: str | None = None,
    console_follow: bool | None = None,
    on_progress: Callable[[IngestStats], None] | None = None,
    keep_decisions: bool = False,
    console_only: bool = False,
    stop_request: asyncio.Event | None = None,
    role: str = "all",
    generator: GeneratorFactory = local_generator,
) -> RunReport:
    """Run until every source ends or a signal arrives. `console_only` (for `modbot scan`) leaves
    the platform adapters and the draft worker off whatever the config says: drafts a scan asks for
    stay queued for the service or `modbot drafts --write`. `role="ingest"` hands accepted posts to
    scoring workers through [scale]'s Redis Stream instead of scoring them here (bot/runtime/worker.py).
    Setting `stop_request` stops the service as SIGTERM does (for embedding it, and for tests);
    `generator` builds the reply assistant's model (tests hand in a stand-in)."""
    report = RunReport()
    secrets = _secrets(config, console_only)
    if role == "ingest" and not config.scale.redis_url:
        raise ConfigError(["--role ingest needs [scale] redis_url (the stream workers read)"])
    store = await asyncio.to_thread(wiring.open_store, config)
    built = await asyncio.to_thread(wiring.filter_stack, config, store, shared_counters=role == "ingest")
    console = _Console(console_source, console_follow, on_progress)
    parts = _assemble(config, store, built, secrets, console, role, console_only, generator)
    if keep_decisions:
        parts.pipeline.on_decided(report.decided.extend)
    try:
        servers = await _serve(config, parts, console_only)
    except ConfigError:
        parts.pipeline.close()
        store.engine.dispose()
        raise
    try:
        await _run(config, parts, report, stop_request, console_only)
    finally:
        for server in servers:
            await server.cleanup()
        parts.pipeline.close()
        if parts.spool is not None:
            parts.spool.close()
        store.engine.dispose()
    report.ingest = {c.source: c.stats for c in parts.consoles}
    report.failed = parts.pipeline.failed_count
    report.handled = parts.pipeline.decided_count
    report.actions_done, report.actions_failed = parts.executor.done, parts.executor.failed
    return report


def _secrets(config: Config, console_only: bool) -> _Secrets:
    """The platform credentials from the environment, refused before anything starts if missing."""
    discord_token = bluesky_password = None
    discord, bluesky = config.adapters.discord, config.adapters.bluesky
    if discord.enabled and not console_only:
        discord_token = os.environ.get(discord.token_env)
        if not discord_token:
            raise ConfigError([f"[adapters.discord] is enabled but ${discord.token_env} is not set"])
    if bluesky.enabled and not console_only:
        bluesky_password = os.environ.get(bluesky.password_env)
        if not bluesky_password:
            raise ConfigError([f"[adapters.bluesky] is enabled but ${bluesky.password_env} is not set"])
        if not bluesky.handle:
            raise ConfigError(["[adapters.bluesky] is enabled but handle is empty"])
    labeler = bluesky.labeler
    key = load_key(key_path(labeler.key_file, config.data.dir)) if bluesky_password and labeler.enabled else None
    return _Secrets(discord_token, bluesky_password, key)


def _assemble(
    config: Config,
    store: Store,
    built: wiring.FilterStack,
    secrets: _Secrets,
    console: _Console,
    role: str,
    console_only: bool,
    generator: GeneratorFactory,
) -> _Parts:
    decider = built.decider
    p = config.pipeline
    stream = PostStream(config.scale) if role == "ingest" else None
    spool_path = p.ingest_spool_path or config.data.dir / "ingest-spool.db"
    spool = IngestSpool(spool_path, p.ingest_spool) if p.ingest_spool else None
    pipeline = Pipeline(
        store, decider, p.batch_size, p.batch_wait_ms, p.queue_size, p.retry_failed_seconds, p.decision_spool,
        stream, spool, CommunityFolder(config.data.dir),
    )  # fmt: skip
    metrics = Metrics()
    settings = config.executor
    executor = Executor(
        store,
        {},
        pipeline.db,
        settings.max_attempts,
        settings.backoff_seconds,
        retry_for_seconds=settings.retry_for_seconds,
        max_backoff_seconds=settings.max_backoff_seconds,
    )
    if (early := gives_up_early(settings)) is not None:
        log.warning("%s", early)
    pipeline.metrics = executor.metrics = metrics
    decider.on_scored = lambda name, seconds: metrics.scorer_seconds.labels(name).observe(seconds)
    for component, version in decider.versions.items():
        metrics.models.labels(component, version).set(1)
    pipeline.on_decided(lambda _: executor.wake())
    drafter = None
    if config.reply.enabled and not console_only:
        writer = build_writer(config.reply, config.data.dir, store, built.embedder, generator)
        is_shadow = lambda post: decider.rules_for(post).shadow  # noqa: E731
        drafter = DraftWorker(
            DraftStore(store), writer, pipeline.check, pipeline.db, config.reply, is_shadow, on_sent=executor.wake
        )
        drafter.metrics = metrics
        pipeline.on_decided(lambda _: drafter.wake() if drafter else None)
    consoles = _consoles(config, console, pipeline, store)
    adapters: list[Adapter] = [
        *consoles,
        *_platforms(config, secrets, store, pipeline, Desk(store, decider, pipeline.db), executor),
    ]
    executor.adapters.update({a.platform: a for a in adapters})
    labeler = _labeler(config, secrets, store, decider, pipeline, adapters)
    return _Parts(store, decider, pipeline, executor, drafter, adapters, consoles, metrics, spool, labeler)


def _consoles(config: Config, asked: _Console, pipeline: Pipeline, store: Store) -> list[ConsoleAdapter]:
    console = config.adapters.console
    if not console.enabled and asked.source is None:
        return []
    return [
        ConsoleAdapter(
            pipeline,
            source=asked.source if asked.source is not None else console.source,
            community=console.community,
            follow=console.follow if asked.follow is None else asked.follow,
            poll_seconds=console.poll_seconds,
            max_chars=config.pipeline.max_post_chars,
            actions_log=console.actions_log or config.data.dir / "console-actions.jsonl",
            on_progress=asked.on_progress,
        )
    ]


def _platforms(
    config: Config, secrets: _Secrets, store: Store, pipeline: Pipeline, desk: Desk, executor: Executor
) -> list[Adapter]:
    adapters: list[Adapter] = []
    if secrets.bluesky_password is not None:
        from bot.adapters.bluesky.adapter import BlueskyAdapter

        bluesky = config.adapters.bluesky
        labels = None
        if secrets.labeler_key is not None:
            labels = LabelIssuer(store, secrets.labeler_key, bluesky.labeler, pipeline.db)
        adapters.append(BlueskyAdapter(bluesky, secrets.bluesky_password, pipeline, labels))
    if secrets.discord_token is not None:
        from bot.adapters.discord.adapter import DiscordAdapter

        discord = config.adapters.discord
        adapters.append(DiscordAdapter(discord, secrets.discord_token, pipeline, desk, on_actions_queued=executor.wake))
    return adapters


def _labeler(
    config: Config, secrets: _Secrets, store: Store, decider: Decider, pipeline: Pipeline, adapters: list[Adapter]
) -> LabelerService | None:
    """The labeler's endpoints, as the Bluesky account, where it signs labels."""
    if secrets.labeler_key is None:
        return None
    from atproto_identity.resolver import AsyncIdResolver

    from bot.adapters.bluesky.adapter import BlueskyAdapter

    [bluesky] = [a for a in adapters if isinstance(a, BlueskyAdapter)]
    resolver = AsyncIdResolver(plc_url=config.adapters.bluesky.plc_directory).did
    reasons = list(config.adapters.bluesky.labeler.report_reasons)
    return LabelerService(store, pipeline.db, lambda: bluesky.did, resolver, decider.planner, reasons)


async def _serve(config: Config, parts: _Parts, console_only: bool) -> list[web.AppRunner]:
    """The health endpoint and the dashboard, if configured; a port in use is a ConfigError."""
    servers: list[web.AppRunner] = []
    if console_only:
        return servers
    try:
        if config.health.enabled:
            pipeline, store = parts.pipeline, parts.store
            health = Health(
                parts.metrics,
                db_ping=lambda: pipeline.db(store.ping),
                outbox=lambda: pipeline.db(store.outbox_backlog),
                queue_depth=pipeline.queue_depth,
                pipeline_running=lambda: pipeline.running,
                adapters=parts.adapters,
                ingest_paused=lambda: pipeline.paused,
                max_lag_seconds=config.health.max_lag_seconds,
            )
            servers.append(await listen(make_health_app(health), "health", config.health.host, config.health.port))
        if config.web.enabled:
            from bot.web.app import make_app

            verdicts = Verdicts(parts.decider.policy, parts.decider.planner)
            dashboard = make_app(parts.store, verdicts, config.web, parts.pipeline.db)
            servers.append(await listen(dashboard, "web", config.web.host, config.web.port))
        if parts.labeler is not None:
            labeler = config.adapters.bluesky.labeler
            servers.append(await listen(parts.labeler.app(), "labeler", labeler.host, labeler.port))
        if config.api.enabled:
            pipeline = parts.pipeline
            api = wiring.perspective_api(config, parts.store, pipeline.db, parts.decider, pipeline.scoring_thread)
            servers.append(await listen(api.app(), "api", config.api.host, config.api.port))
    except ConfigError:
        for server in servers:
            await server.cleanup()
        raise
    return servers


async def _run(
    config: Config, parts: _Parts, report: RunReport, stop_request: asyncio.Event | None, console_only: bool
) -> None:
    """Start, run the adapters until they end or a signal arrives, drain, then stop the workers."""
    pipeline, adapters = parts.pipeline, parts.adapters
    loop = asyncio.get_running_loop()

    def on_signal(signame: str) -> None:
        if not report.stopped_by_signal:
            log.info("%s received: finishing accepted posts, then exiting", signame)
        report.stopped_by_signal = True
        systemd.notify("STOPPING=1", "STATUS=draining: deciding accepted posts")
        pipeline.stop_ingest()
        parts.executor.finish_by(config.executor.stop_seconds)
        for adapter in adapters:
            adapter.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig.name)
    background: list[asyncio.Task[Any]] = []
    if stop_request is not None:
        watcher = asyncio.create_task(stop_request.wait())
        watcher.add_done_callback(lambda _: on_signal("stop request"))
        background.append(watcher)
    if config.retention.post_text_days > 0 and not console_only:
        background.append(asyncio.create_task(_retention(pipeline, config.retention.post_text_days)))
    workers = _Workers(parts)
    try:
        pipeline.start()
        report.resumed = await pipeline.resume_pending()
        # Ready: schema migrated, models loaded, the backlog queued, adapters about to connect.
        systemd.notify("READY=1", f"STATUS=running: {', '.join(a.platform for a in adapters) or 'no adapters'}")
        if (interval := systemd.watchdog_interval()) is not None:
            background.append(asyncio.create_task(systemd.watchdog(interval), name="modbot-watchdog"))
        results = await asyncio.gather(*(a.run() for a in adapters), return_exceptions=True)
        for adapter, result in zip(adapters, results, strict=True):
            if isinstance(result, BaseException):
                log.error("adapter %s stopped: %s", adapter.platform, result)
                report.errors.append(f"{adapter.platform} adapter: {result}")
        await pipeline.drain()
    finally:
        for task in background:
            task.cancel()
        await workers.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


class _Workers:
    """The executor and the draft worker, each a task until told to stop."""

    def __init__(self, parts: _Parts) -> None:
        self.parts = parts
        self._executor_stop = asyncio.Event()
        self._executor = asyncio.create_task(parts.executor.run_until(self._executor_stop), name="modbot-executor")
        self._drafter_stop = asyncio.Event()
        drafter = parts.drafter
        self._drafter = (
            asyncio.create_task(drafter.run_until(self._drafter_stop), name="modbot-drafts") if drafter else None
        )

    async def stop(self) -> None:
        """A batch of drafts being written finishes (queued drafts wait); then due actions run out."""
        if self.parts.drafter is not None and self._drafter is not None:
            self._drafter_stop.set()
            self.parts.drafter.wake()
            await asyncio.gather(self._drafter, return_exceptions=True)
        self._executor_stop.set()
        self.parts.executor.wake()
        await asyncio.gather(self._executor, return_exceptions=True)


async def _retention(pipeline: Pipeline, days: int) -> None:
    """Purge post text past the retention window, at start and hourly."""
    while True:
        try:
            cutoff = utcnow() - timedelta(days=days)
            purged = await pipeline.db(purge_text, pipeline.store, cutoff)
            if purged.posts:
                log.info("retention: purged the text of %d posts older than %d days", purged.posts, days)
            # quarantined input is raw text too
            if dropped := await pipeline.db(QuarantineStore(pipeline.store).purge_before, cutoff):
                log.info("retention: dropped %d quarantined items older than %d days", dropped, days)
        except Exception as exc:  # the database is down: try again next hour
            log.warning("retention purge failed: %s", exc)
        await asyncio.sleep(3600)
