"""The action outbox executor: retries with backoff, gives up with the reason recorded.
The platform here is a scripted stand-in adapter (the console platform cannot fail on demand)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from bot.adapters.base import ActionFailed
from bot.runtime.executor import Executor
from bot.storage.records import ActionRecord
from bot.storage.store import Store
from moderation.actions import ActionSpec
from moderation.types import Author, Decision, Outcome, Post


class Scripted:
    def __init__(self, script: list[Exception | None]) -> None:
        self.script = script
        self.calls: list[int] = []

    def can_act(self) -> bool:
        return True

    async def execute(self, action: ActionRecord) -> str:
        self.calls.append(action.id)
        step = self.script.pop(0) if self.script else None
        if step is not None:
            raise step
        return "done on the platform"


def _queue_action(store: Store, pid: str) -> None:
    post = Post("console", "c", "g", pid, Author("u"), "x", datetime.now(UTC))
    [(row, p)] = store.accept([post])
    d = Decision(Outcome.REMOVE, {"t": 1.0}, {"s": {"t": 1.0}}, (), {"s": "1"}, "p", False, "x")
    store.record([(row, p, d, [ActionSpec("remove", {})])])


async def _db(fn: Any, *args: Any) -> Any:
    return fn(*args)


def test_transient_failures_are_retried_then_succeed(store: Store) -> None:
    _queue_action(store, "a")
    adapter = Scripted([RuntimeError("HTTP 503"), ActionFailed("rate limited", retryable=True), None])
    executor = Executor(store, {"console": adapter}, _db, max_attempts=5, backoff_seconds=0.0)

    async def go() -> None:
        for _ in range(3):
            await executor.run_once()

    asyncio.run(go())
    assert len(adapter.calls) == 3 and executor.done == 1
    [case] = store.cases()
    view = store.case(case.id)
    assert view is not None
    [action] = view.actions
    assert action.state == "done" and action.attempts == 3 and action.result == "done on the platform"


def test_permanent_failure_and_exhausted_retries_are_marked_failed(store: Store) -> None:
    _queue_action(store, "a")
    _queue_action(store, "b")
    adapter = Scripted(
        [ActionFailed("missing permission: Manage Messages", retryable=False)] + [RuntimeError("down")] * 9
    )
    executor = Executor(store, {"console": adapter}, _db, max_attempts=2, backoff_seconds=0.0)

    async def go() -> None:
        for _ in range(4):
            await executor.run_once()

    asyncio.run(go())
    assert executor.failed == 2 and executor.done == 0
    results = []
    for case in store.cases():
        view = store.case(case.id)
        assert view is not None
        results.extend((a.state, a.attempts, a.result) for a in view.actions)
    assert ("failed", 1, "attempt 1: ActionFailed: missing permission: Manage Messages") in results
    assert ("failed", 2, "attempt 2: RuntimeError: down") in results


class Slow:
    """A platform at its rate limit: each action takes a while."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls = 0

    def can_act(self) -> bool:
        return True

    async def execute(self, action: ActionRecord) -> str:
        self.calls += 1
        await asyncio.sleep(self.seconds)
        return "done"


def test_stopping_on_time_leaves_the_rest_in_the_outbox_unattempted(store: Store) -> None:
    for n in range(30):
        _queue_action(store, f"p{n}")
    adapter = Slow(0.1)
    executor = Executor(store, {"console": adapter}, _db, backoff_seconds=0.0)

    async def go() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(executor.run_until(stop))
        while adapter.calls < 3:
            await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        stop.set()
        executor.finish_by(0.25)
        await task
        return asyncio.get_running_loop().time() - started

    took = asyncio.run(go())
    assert took < 2.0  # 30 actions at 0.1 s each would take 3 s
    backlog = store.outbox_backlog()
    assert 0 < executor.done < 30 and backlog.get("running", 0) == 0
    assert backlog["pending"] == 30 - executor.done
    pending = [a for c in store.cases() if (v := store.case(c.id)) for a in v.actions if a.state == "pending"]
    assert pending and all(a.attempts == 0 for a in pending)  # a lease given back is not an attempt
