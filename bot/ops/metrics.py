"""Health and Prometheus metrics for an operator: `/healthz` (the process answers), `/readyz` (the
database answers, the pipeline runs, every adapter is connected and not lagging past its bound)
and `/metrics`, on their own port
so a scraper needs no dashboard account. Metrics carry labels an operator can act on (platform,
outcome, category, scorer, action kind), never post text, handles or ids."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.storage.records import ActionState

log = logging.getLogger(__name__)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.posts = Counter("modbot_posts_accepted", "Posts stored for deciding", ["platform"], registry=r)
        self.decisions = Counter("modbot_decisions", "Decisions recorded", ["outcome"], registry=r)
        self.flags = Counter(
            "modbot_review_cases", "Decisions sent to review, by their top category", ["category"], registry=r
        )
        self.scorer_seconds = Histogram(
            "modbot_scorer_seconds",
            "Time a scorer took on one batch",
            ["scorer"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.batch_posts = Histogram(
            "modbot_batch_posts", "Posts per scored batch", buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=r
        )
        self.quarantined = Counter(
            "modbot_quarantined", "Input that could not become a post, kept in quarantine", ["platform"], registry=r
        )
        self.scoring_failures = Counter("modbot_scoring_failures", "Posts whose scoring raised", registry=r)
        self.actions = Counter("modbot_actions", "Platform actions finished", ["kind", "result"], registry=r)
        self.reconnects = Gauge("modbot_adapter_reconnects", "Reconnects since start", ["platform"], registry=r)
        self.frames = Gauge(
            "modbot_adapter_frames",
            "Frames, messages or lines read from the platform since start (rate() is frames/s)",
            ["platform"],
            registry=r,
        )
        self.connected = Gauge("modbot_adapter_connected", "1 while the adapter is connected", ["platform"], registry=r)
        self.lag = Gauge(
            "modbot_adapter_lag_seconds",
            "From the platform's time of the newest item read to reading it",
            ["platform"],
            registry=r,
        )
        self.queue_depth = Gauge("modbot_queue_depth", "Accepted posts waiting to be scored", registry=r)
        self.outbox = Gauge("modbot_outbox_backlog", "Outbox actions not yet done", ["state"], registry=r)
        self.drafts = Counter("modbot_drafts", "Reply drafts written", ["status"], registry=r)
        self.models = Gauge(
            "modbot_model_info", "Model and scorer versions in use", ["component", "version"], registry=r
        )
        self.up_since = Gauge("modbot_start_time_seconds", "Unix time the service started", registry=r)
        self.up_since.set(time.time())


class Health:
    """What /readyz and the scrape-time gauges read from the running service."""

    def __init__(
        self,
        metrics: Metrics,
        db_ping: Callable[[], Awaitable[None]],
        outbox: Callable[[], Awaitable[dict[str, int]]],
        queue_depth: Callable[[], int],
        pipeline_running: Callable[[], bool],
        adapters: Sequence[Any],
        ingest_paused: Callable[[], str | None] = lambda: None,
        max_lag_seconds: float | None = None,
    ) -> None:
        self.metrics = metrics
        self.db_ping = db_ping
        self.outbox = outbox
        self.queue_depth = queue_depth
        self.pipeline_running = pipeline_running
        self.adapters = list(adapters)
        self.ingest_paused = ingest_paused
        self.max_lag_seconds = max_lag_seconds

    async def problems(self) -> list[str]:
        problems = []
        try:
            await asyncio.wait_for(self.db_ping(), 3)
        except Exception as exc:
            problems.append(f"database: {type(exc).__name__}: {exc}"[:300])
        if not self.pipeline_running():
            problems.append("pipeline: not running")
        if (why := self.ingest_paused()) is not None:
            problems.append(f"ingest paused: {why}")
        for adapter in self.adapters:
            if not adapter.connected():
                problems.append(f"adapter {adapter.platform}: not connected")
            lag, bound = adapter.lag, self.max_lag_seconds
            if lag is not None and bound is not None and lag > bound:
                problems.append(f"adapter {adapter.platform}: {lag:.0f} s behind the platform (bound {bound:.0f} s)")
        return problems

    async def refresh(self) -> None:
        m = self.metrics
        m.queue_depth.set(self.queue_depth())
        for adapter in self.adapters:
            m.connected.labels(adapter.platform).set(1 if adapter.connected() else 0)
            m.reconnects.labels(adapter.platform).set(adapter.reconnects)
            m.frames.labels(adapter.platform).set(adapter.frames)
            if adapter.lag is not None:
                m.lag.labels(adapter.platform).set(adapter.lag)
        try:
            backlog = await asyncio.wait_for(self.outbox(), 3)
        except Exception as exc:  # the database is down: /readyz says so; keep the last figures
            log.debug("outbox backlog unavailable: %s", exc)
        else:
            for state in (ActionState.PENDING, ActionState.RUNNING, ActionState.FAILED):
                m.outbox.labels(state).set(backlog.get(state, 0))


def make_health_app(health: Health) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        problems = await health.problems()
        return web.json_response({"ready": not problems, "problems": problems}, status=503 if problems else 200)

    async def metrics(_: web.Request) -> web.Response:
        await health.refresh()
        body = generate_latest(health.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app
