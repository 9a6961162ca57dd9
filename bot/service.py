"""`modbot run` (and `modbot scan`): adapters, pipeline and action executor on one asyncio loop.

Stopping (SIGINT/SIGTERM, or every source exhausted) happens in order: adapters stop reading,
every accepted post is decided, due actions are carried out, then the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.adapters.base import Adapter
from bot.adapters.console import ConsoleAdapter, IngestStats
from bot.config import Config
from bot.executor import Executor
from bot.pipeline import Decided, Decider, Pipeline
from bot.scorers import build_scorers
from bot.storage.db import display_url, make_engine, upgrade
from bot.storage.store import Store

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


def open_store(config: Config) -> Store:
    """The store on the configured database, migrated to the newest schema."""
    url = config.database_url()
    engine = make_engine(url)
    revision = upgrade(engine)
    log.info("database %s at schema %s", display_url(url), revision)
    return Store(engine)


async def run_service(
    config: Config,
    console_source: str | None = None,
    console_follow: bool | None = None,
    on_progress: Callable[[IngestStats], None] | None = None,
    keep_decisions: bool = False,
) -> RunReport:
    report = RunReport()
    store = await asyncio.to_thread(open_store, config)
    scorers, embedder = await asyncio.to_thread(build_scorers, config.scorers)
    decider = Decider(scorers, config.build_policy(), embedder)
    p = config.pipeline
    pipeline = Pipeline(store, decider, p.batch_size, p.batch_wait_ms, p.queue_size)
    if keep_decisions:
        pipeline.on_decided(report.decided.extend)

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
    executor = Executor(
        store,
        {a.platform: a for a in adapters},
        pipeline.db,
        config.executor.max_attempts,
        config.executor.backoff_seconds,
    )
    pipeline.on_decided(lambda _: executor.wake())

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signame: str) -> None:
        if not stop.is_set():
            log.info("%s received: finishing accepted posts, then exiting", signame)
        report.stopped_by_signal = True
        stop.set()
        for adapter in adapters:
            adapter.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig.name)
    executor_stop = asyncio.Event()
    executor_task = asyncio.create_task(executor.run_until(executor_stop), name="modbot-executor")
    try:
        pipeline.start()
        report.resumed = await pipeline.resume_pending()
        results = await asyncio.gather(*(a.run() for a in adapters), return_exceptions=True)
        for adapter, result in zip(adapters, results, strict=True):
            if isinstance(result, BaseException):
                log.error("adapter %s stopped: %s", adapter.platform, result)
                report.errors.append(f"{adapter.platform} adapter: {result}")
        await pipeline.drain()
    finally:
        executor_stop.set()
        executor.wake()
        await asyncio.gather(executor_task, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        pipeline.close()
        store.engine.dispose()
    report.ingest = {c.source: c.stats for c in consoles}
    report.failed = pipeline.failed_count
    report.actions_done, report.actions_failed = executor.done, executor.failed
    return report
