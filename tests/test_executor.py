"""The action outbox executor: retries with backoff through an outage for a window of time, gives
up with the reason recorded.
The platform here is a scripted stand-in adapter (the console platform cannot fail on demand)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.adapters.base import ActionFailed
from bot.config import Config
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
    executor = Executor(store, {"console": adapter}, _db, max_attempts=5, backoff_seconds=0.0)

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


@pytest.mark.parametrize(
    ("backoff", "cap", "window", "attempts", "expected"),
    [
        (1.0, 60.0, 3600.0, 1, 1.0),  # the first wait
        (1.0, 60.0, 3600.0, 4, 8.0),  # doubling
        (1.0, 60.0, 3600.0, 10, 60.0),  # at most the cap
        (1.0, 60.0, 3600.0, 64, 60.0),  # 64 waits come to 3,543 s...
        (1.0, 60.0, 3600.0, 65, None),  # ...and 65 to 3,603: past the hour, the 65th failure is the last
        (1.0, 60.0, 15.0, 4, 8.0),  # a short window: 1 + 2 + 4 + 8 = 15 s, not past it
        (1.0, 60.0, 15.0, 5, None),
        (1.0, 3.0, 3600.0, 1000, 3.0),  # a short cap: a thousand waits fit in the hour...
        (1.0, 3.0, 3600.0, 2000, None),  # ...two thousand do not (2**1024 would overflow a float)
        (0.001, 0.002, 604_800.0, 10**8, 0.002),  # a week of 2 ms waits, in constant time
        (5e-324, 60.0, 3600.0, 1100, 60.0),  # the smallest float as the first wait: 1,080 doublings, no overflow
    ],
)
def test_the_retry_window_is_time_not_a_count(
    store: Store, backoff: float, cap: float, window: float, attempts: int, expected: float | None
) -> None:
    executor = Executor(store, {}, _db, backoff_seconds=backoff, max_backoff_seconds=cap, retry_for_seconds=window)
    delay = executor.retry_delay(attempts)
    assert (None if delay is None else delay.total_seconds()) == expected


def test_an_action_rides_out_an_outage_longer_than_five_tries(store: Store) -> None:
    """Thirty failed tries (the platform down), then the platform is back: the action is done, not
    failed at the fifth try as it was (issue #24)."""
    _queue_action(store, "a")
    adapter = Scripted([RuntimeError("ConnectError: [Errno 111] Connection refused")] * 30)
    executor = Executor(
        store, {"console": adapter}, _db, backoff_seconds=0.001, max_backoff_seconds=0.002, retry_for_seconds=5.0
    )

    async def go() -> None:
        deadline = asyncio.get_running_loop().time() + 10
        while executor.done == 0 and executor.failed == 0 and asyncio.get_running_loop().time() < deadline:
            if await executor.run_once() == 0:
                await asyncio.sleep(0.002)

    asyncio.run(go())
    assert executor.done == 1 and executor.failed == 0 and len(adapter.calls) == 31


def test_past_the_window_an_action_fails_with_its_last_error(store: Store) -> None:
    _queue_action(store, "a")
    adapter = Scripted([RuntimeError("down")] * 100)
    executor = Executor(
        store, {"console": adapter}, _db, backoff_seconds=0.004, max_backoff_seconds=0.004, retry_for_seconds=0.01
    )

    async def go() -> None:
        while executor.failed == 0:
            if await executor.run_once() == 0:
                await asyncio.sleep(0.002)

    asyncio.run(asyncio.wait_for(go(), 10))
    [case] = store.cases()
    view = store.case(case.id)
    assert view is not None
    [action] = view.actions
    assert (action.state, action.attempts, action.result) == ("failed", 3, "attempt 3: RuntimeError: down")


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"backoff_seconds": 0}, "a backoff of 0 needs max_attempts"),
        ({"max_backoff_seconds": 0}, "a backoff of 0 needs max_attempts"),
        ({"retry_for_seconds": -1}, "retry_for_seconds"),
        ({"max_attempts": 0}, "max_attempts"),
    ],
)
def test_retry_settings_that_would_never_end_are_refused(settings: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Config.model_validate({"executor": settings})
    if "backoff" in error:  # with a cap on tries, no waits is allowed (tests use it)
        assert Config.model_validate({"executor": {**settings, "max_attempts": 3}}).executor.max_attempts == 3
