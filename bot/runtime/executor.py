"""Carries out outbox actions: each was recorded before it runs, is retried with backoff, and
its outcome is written back. Adapters must act idempotently, since a crash can repeat one.

A platform outage must not cost the actions moderators decided, so a failing action is retried for
a window of time (`[executor] retry_for_seconds`, an hour by default), its waits doubling up to a
cap, rather than for a count of tries that an outage of a few seconds used up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

from bot.adapters.base import ActionFailed
from bot.config.runtime import RETRIES_NEVER_END, ExecutorConfig
from bot.ops.metrics import Metrics
from bot.storage.db import DatabaseError
from bot.storage.records import ActionRecord, ActionState
from bot.storage.store import Store

log = logging.getLogger(__name__)

Db = Callable[..., Awaitable[Any]]


class Acting(Protocol):
    def can_act(self) -> bool: ...

    async def execute(self, action: ActionRecord) -> str: ...


def waits(backoff: float, cap: float, failures: int) -> tuple[float, float]:
    """The waits after `failures` failed tries (backoff doubling, never over cap): their sum and the
    last. In closed form: the doubling is over after a few dozen waits at most, then each is the
    cap (a loop would take millions of steps over a week of 1 ms waits, and 2**1024 overflows)."""
    if failures <= 0 or min(backoff, cap) <= 0:
        return 0.0, 0.0
    doubling = math.ceil(math.log2(cap) - math.log2(backoff)) if backoff < cap else 0  # waits under the cap
    below = min(failures, doubling)
    total = math.ldexp(backoff, below) - backoff + (failures - below) * cap  # ldexp: x * 2**n, no big ints
    return total, (math.ldexp(backoff, failures - 1) if failures <= doubling else cap)


def gives_up_early(settings: ExecutorConfig) -> str | None:
    """Why `max_attempts` ends retries before `retry_for_seconds`, or None. A config written before
    the retry window has `max_attempts = 5`, which gives up after 15 s of an outage: said at start
    and by `modbot config check`, since the installer never rewrites a config."""
    if settings.max_attempts is None:
        return None
    waited, _ = waits(settings.backoff_seconds, settings.max_backoff_seconds, settings.max_attempts - 1)
    if waited >= settings.retry_for_seconds:
        return None
    return (
        f"[executor] max_attempts = {settings.max_attempts} gives up on a failing action after about {waited:.0f} s, "
        f"well inside retry_for_seconds ({settings.retry_for_seconds:.0f} s): a longer outage loses actions; "
        "remove max_attempts to retry through outages"
    )


class Executor:
    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, Acting],
        db: Db,
        max_attempts: int | None = None,
        backoff_seconds: float = 1.0,
        poll_seconds: float = 1.0,
        action_timeout: float = 60.0,
        retry_for_seconds: float = 3600.0,
        max_backoff_seconds: float = 60.0,
    ) -> None:
        if max_attempts is None and min(backoff_seconds, max_backoff_seconds) <= 0:
            raise ValueError(RETRIES_NEVER_END)
        self.store = store
        self.adapters = dict(adapters)
        self.db = db
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.retry_for_seconds = retry_for_seconds
        self.max_backoff_seconds = max_backoff_seconds
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

    def retry_delay(self, attempts: int) -> timedelta | None:
        """The wait before the next try of an action that has failed `attempts` times, or None once
        its waits have added up to retry_for_seconds (or it has had max_attempts tries). The waits
        are fixed by the count, so how long it has waited is known without storing anything; the
        tries' own time (up to the action timeout each) comes on top, so the window is a lower bound."""
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return None
        waited, last = waits(self.backoff_seconds, self.max_backoff_seconds, attempts)
        if waited > self.retry_for_seconds:
            return None
        return timedelta(seconds=last)

    async def _attempt(self, action: ActionRecord) -> None:
        adapter = self.adapters[action.platform]
        try:
            result = await asyncio.wait_for(adapter.execute(action), self.action_timeout)
        except Exception as exc:
            retryable = not isinstance(exc, ActionFailed) or exc.retryable
            message = f"attempt {action.attempts}: {type(exc).__name__}: {exc}"
            delay = self.retry_delay(action.attempts) if retryable else None
            if delay is not None:
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
