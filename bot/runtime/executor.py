"""Carries out outbox actions: each was recorded before it runs, is retried with backoff, and
its outcome is written back. Adapters must act idempotently, since a crash can repeat one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

from bot.adapters.base import ActionFailed
from bot.ops.metrics import Metrics
from bot.storage.db import DatabaseError
from bot.storage.records import ActionRecord, ActionState
from bot.storage.store import Store

log = logging.getLogger(__name__)

Db = Callable[..., Awaitable[Any]]


class Acting(Protocol):
    def can_act(self) -> bool: ...

    async def execute(self, action: ActionRecord) -> str: ...


class Executor:
    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, Acting],
        db: Db,
        max_attempts: int = 5,
        backoff_seconds: float = 1.0,
        poll_seconds: float = 1.0,
        action_timeout: float = 60.0,
    ) -> None:
        self.store = store
        self.adapters = dict(adapters)
        self.db = db
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.poll_seconds = poll_seconds
        self.action_timeout = action_timeout
        self._wake = asyncio.Event()
        self._deadline: float | None = None
        self.done = 0
        self.failed = 0
        self.metrics: Metrics | None = None

    def wake(self) -> None:
        self._wake.set()

    def finish_by(self, seconds: float) -> None:
        """Stopping on a signal: due actions keep running for `seconds`, then the rest wait in the
        outbox (durable) for the next start. A flood of queued actions at a platform's rate limit
        would otherwise hold the process past systemd's stop timeout and get it killed."""
        self._deadline = time.monotonic() + seconds
        self.wake()

    def _out_of_time(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    async def run_until(self, stop: asyncio.Event) -> None:
        """Run due actions until `stop` is set and nothing due is left. A database outage pauses
        the loop (actions stay in the outbox) instead of ending it."""
        requeued = False
        while True:
            try:
                if not requeued:
                    await self.db(self.store.requeue_running)
                    requeued = True
                ran = await self.run_once()
            except DatabaseError as exc:
                log.error("action executor paused: %s", exc)
                if stop.is_set():
                    return
                ran = 0
            if stop.is_set() and (ran == 0 or self._out_of_time()):
                if self._out_of_time():
                    left = await self.db(self.store.outbox_backlog)
                    log.info("stopping: actions left in the outbox for the next start: %s", left)
                return
            if ran == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def run_once(self) -> int:
        """Run every due action of every platform that can act now; returns how many were attempted."""
        platforms = [name for name, adapter in self.adapters.items() if adapter.can_act()]
        if not platforms:
            return 0
        actions = await self.db(self.store.lease_actions, platforms, 50)
        for n, action in enumerate(actions):
            if self._out_of_time():
                await self.db(self.store.release_actions, [a.id for a in actions[n:]])
                return n
            await self._attempt(action)
        return len(actions)

    async def _attempt(self, action: ActionRecord) -> None:
        adapter = self.adapters[action.platform]
        try:
            result = await asyncio.wait_for(adapter.execute(action), self.action_timeout)
        except Exception as exc:
            retryable = not isinstance(exc, ActionFailed) or exc.retryable
            message = f"attempt {action.attempts}: {type(exc).__name__}: {exc}"
            if retryable and action.attempts < self.max_attempts:
                delay = timedelta(seconds=self.backoff_seconds * 2 ** (action.attempts - 1))
                log.warning("action %d (%s) failed, retrying in %s: %s", action.id, action.kind, delay, exc)
                await self.db(self.store.finish_action, action.id, False, message, delay)
            else:
                self.failed += 1
                if self.metrics is not None:
                    self.metrics.actions.labels(action.kind, ActionState.FAILED).inc()
                log.error("action %d (%s) failed for good: %s", action.id, action.kind, exc)
                await self.db(self.store.finish_action, action.id, False, message, None)
            return
        self.done += 1
        if self.metrics is not None:
            self.metrics.actions.labels(action.kind, ActionState.DONE).inc()
        await self.db(self.store.finish_action, action.id, True, result)
