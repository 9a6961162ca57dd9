"""`modbot run` (and `modbot scan`): adapters, pipeline and action executor on one asyncio loop.

Stopping (SIGINT/SIGTERM, or every source exhausted) happens in order: adapters stop reading,
every accepted post is decided, due actions are carried out, then the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from aiohttp import web

from bot import systemd, wiring
from bot.adapters.base import Adapter
from bot.adapters.console.adapter import ConsoleAdapter, IngestStats
from bot.config import Config, ConfigError
from bot.drafts import DraftWorker, build_writer
from bot.executor import Executor
from bot.listen import listen
from bot.metrics import Health, Metrics, make_health_app
from bot.pipeline import Decided, Pipeline
from bot.review import Desk
from bot.storage.drafts import DraftStore
from bot.storage.maintenance import purge_text
from bot.storage.schema import utcnow
from bot.storage.spool import IngestSpool

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    ingest: dict[str, IngestStats] = field(default_factory=dict)
    decided: list[Decided] = field(default_factory=list)
    resumed: int = 0
    failed: int = 0
    actions_done: int = 0
    actions_failed: int = 0
    stopped_by_signal: bool = False
    errors: list[str] = field(default_factory=list)


async def run_service(
    config: Config,
    console_source: str | None = None,
    console_follow: bool | None = None,
    on_progress: Callable[[IngestStats], None] | None = None,
    keep_decisions: bool = False,
    console_only: bool = False,
    stop_request: asyncio.Event | None = None,
    role: str = "all",
) -> RunReport:
    """Run until every source ends or a signal arrives. `console_only` (for `modbot scan`) leaves
    the platform adapters and the draft worker off whatever the config says: drafts a scan asks for
    stay queued for the service or `modbot drafts --write`. `role="ingest"` hands accepted posts to
    scoring workers through [scale]'s Redis Stream instead of scoring them here (bot/worker.py).
    Setting `stop_request` stops the service as SIGTERM does (for embedding it, and for tests)."""
    report = RunReport()
    discord_token = None
    if config.adapters.discord.enabled and not console_only:
        discord_token = os.environ.get(config.adapters.discord.token_env)
        if not discord_token:
            raise ConfigError([f"[adapters.discord] is enabled but ${config.adapters.discord.token_env} is not set"])
    bluesky_password = None
    if config.adapters.bluesky.enabled and not console_only:
        bluesky_password = os.environ.get(config.adapters.bluesky.password_env)
        if not bluesky_password:
            raise ConfigError([f"[adapters.bluesky] is enabled but ${config.adapters.bluesky.password_env} is not set"])
        if not config.adapters.bluesky.handle:
            raise ConfigError(["[adapters.bluesky] is enabled but handle is empty"])
    store = await asyncio.to_thread(wiring.open_store, config)
    built = await asyncio.to_thread(wiring.filter_stack, config, store, shared_counters=role == "ingest")
    decider, embedder, policy = built.decider, built.embedder, built.decider.policy
    p = config.pipeline
    stream = None
    if role == "ingest":
        if not config.scale.redis_url:
            raise ConfigError(["--role ingest needs [scale] redis_url (the stream workers read)"])
        from bot.stream import PostStream

        stream = PostStream(config.scale)
    spool = IngestSpool(config.data.dir / "ingest-spool.db", p.ingest_spool) if p.ingest_spool else None
    pipeline = Pipeline(
        store,
        decider,
        p.batch_size,
        p.batch_wait_ms,
        p.queue_size,
        p.retry_failed_seconds,
        p.decision_spool,
        stream,
        spool,
    )
    if keep_decisions:
        pipeline.on_decided(report.decided.extend)

    executor = Executor(store, {}, pipeline.db, config.executor.max_attempts, config.executor.backoff_seconds)
    pipeline.on_decided(lambda _: executor.wake())
    drafter = None
    if config.reply.enabled and not console_only:
        writer = build_writer(config.reply, config.data.dir, store, embedder)
        drafter = DraftWorker(
            DraftStore(store),
            writer,
            pipeline.check,
            pipeline.db,
            config.reply,
            is_shadow=lambda post: decider.rules_for(post).shadow,
            on_sent=executor.wake,
        )
        pipeline.on_decided(lambda _: drafter.wake() if drafter else None)
    adapters: list[Adapter] = []
    consoles: list[ConsoleAdapter] = []
    console = config.adapters.console
    if console.enabled or console_source is not None:
        consoles.append(
            ConsoleAdapter(
                pipeline,
                store,
                source=console_source if console_source is not None else console.source,
                community=console.community,
                follow=console.follow if console_follow is None else console_follow,
                poll_seconds=console.poll_seconds,
                max_chars=p.max_post_chars,
                actions_log=console.actions_log or config.data.dir / "console-actions.jsonl",
                on_progress=on_progress,
            )
        )
        adapters.extend(consoles)
    if bluesky_password is not None:
        from bot.adapters.bluesky.adapter import BlueskyAdapter

        adapters.append(BlueskyAdapter(config.adapters.bluesky, bluesky_password, pipeline, store))
    if discord_token is not None:
        from bot.adapters.discord.adapter import DiscordAdapter

        adapters.append(
            DiscordAdapter(
                config.adapters.discord,
                discord_token,
                pipeline,
                Desk(store, decider, pipeline.db),
                on_actions_queued=executor.wake,
            )
        )
    executor.adapters.update({a.platform: a for a in adapters})
    metrics = Metrics()
    pipeline.metrics = executor.metrics = metrics
    decider.on_scored = lambda name, seconds: metrics.scorer_seconds.labels(name).observe(seconds)
    if drafter is not None:
        drafter.metrics = metrics
    for component, version in decider.versions.items():
        metrics.models.labels(component, version).set(1)
    servers: list[web.AppRunner] = []
    try:
        if config.health.enabled and not console_only:
            health = Health(
                metrics,
                db_ping=lambda: pipeline.db(store.ping),
                outbox=lambda: pipeline.db(store.outbox_backlog),
                queue_depth=pipeline.queue_depth,
                pipeline_running=lambda: pipeline.running,
                adapters=adapters,
            )
            servers.append(await listen(make_health_app(health), "health", config.health.host, config.health.port))
        if config.web.enabled and not console_only:
            from bot.web.app import make_app

            dashboard = make_app(store, policy, config.web)
            servers.append(await listen(dashboard, "web", config.web.host, config.web.port))
    except ConfigError:
        for server in servers:
            await server.cleanup()
        pipeline.close()
        store.engine.dispose()
        raise

    loop = asyncio.get_running_loop()

    def on_signal(signame: str) -> None:
        if not report.stopped_by_signal:
            log.info("%s received: finishing accepted posts, then exiting", signame)
        report.stopped_by_signal = True
        systemd.notify("STOPPING=1", "STATUS=draining: deciding accepted posts")
        pipeline.stop_ingest()
        for adapter in adapters:
            adapter.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig.name)
    watcher = None
    if stop_request is not None:
        watcher = asyncio.create_task(stop_request.wait())
        watcher.add_done_callback(lambda _: on_signal("stop request"))
    executor_stop = asyncio.Event()
    executor_task = asyncio.create_task(executor.run_until(executor_stop), name="modbot-executor")
    drafter_stop = asyncio.Event()
    drafter_task = asyncio.create_task(drafter.run_until(drafter_stop), name="modbot-drafts") if drafter else None
    watchdog_task: asyncio.Task[None] | None = None
    retention_task = (
        asyncio.create_task(_retention(pipeline, config.retention.post_text_days), name="modbot-retention")
        if config.retention.post_text_days > 0 and not console_only
        else None
    )
    try:
        pipeline.start()
        report.resumed = await pipeline.resume_pending()
        # Ready: schema migrated, models loaded, the backlog queued, adapters about to connect.
        systemd.notify("READY=1", f"STATUS=running: {', '.join(a.platform for a in adapters) or 'no adapters'}")
        if (interval := systemd.watchdog_interval()) is not None:
            watchdog_task = asyncio.create_task(systemd.watchdog(interval), name="modbot-watchdog")
        results = await asyncio.gather(*(a.run() for a in adapters), return_exceptions=True)
        for adapter, result in zip(adapters, results, strict=True):
            if isinstance(result, BaseException):
                log.error("adapter %s stopped: %s", adapter.platform, result)
                report.errors.append(f"{adapter.platform} adapter: {result}")
        await pipeline.drain()
    finally:
        for task in (watchdog_task, retention_task):
            if task is not None:
                task.cancel()
        if watcher is not None:
            watcher.cancel()
        if drafter is not None and drafter_task is not None:  # a batch being written finishes; queued drafts wait
            drafter_stop.set()
            drafter.wake()
            await asyncio.gather(drafter_task, return_exceptions=True)
        executor_stop.set()
        executor.wake()
        await asyncio.gather(executor_task, return_exceptions=True)
        for server in servers:
            await server.cleanup()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        pipeline.close()
        if spool is not None:
            spool.close()
        store.engine.dispose()
    report.ingest = {c.source: c.stats for c in consoles}
    report.failed = pipeline.failed_count
    report.actions_done, report.actions_failed = executor.done, executor.failed
    return report


async def _retention(pipeline: Pipeline, days: int) -> None:
    """Purge post text past the retention window, at start and hourly."""
    while True:
        try:
            purged = await pipeline.db(purge_text, pipeline.store, utcnow() - timedelta(days=days))
            if purged.posts:
                log.info("retention: purged the text of %d posts older than %d days", purged.posts, days)
        except Exception as exc:  # the database is down: try again next hour
            log.warning("retention purge failed: %s", exc)
        await asyncio.sleep(3600)
