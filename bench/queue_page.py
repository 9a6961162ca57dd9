"""Server time of the dashboard's queue page over 100,000 decisions in SQLite (a third of them
open cases), through the real app: the median of repeated requests, measured inside the process
(a middleware timer), for the default view and for filtered and sorted views.
Usage: .venv/bin/python bench/queue_page.py [--decisions N] [--runs N]"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert

from bot.config import Config, WebConfig
from bot.storage.db import make_engine, upgrade
from bot.storage.schema import CaseRow, DecisionRow, PostRow
from bot.storage.store import Store
from bot.web.accounts import Accounts
from bot.web.app import make_app

CATEGORIES = ["profanity", "toxicity", "harassment", "spam", "threat", "hate"]


def fill(store: Store, n: int, every: int) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    chunk = 5000
    with store.engine.begin() as conn:
        for start in range(0, n, chunk):
            ids = range(start + 1, min(n, start + chunk) + 1)
            conn.execute(
                insert(PostRow),
                [
                    {
                        "id": i,
                        "platform": rng.choice(["discord", "bluesky"]),
                        "community": f"c{i % 7}",
                        "channel": "general",
                        "platform_post_id": f"p{i}",
                        "author_id": f"u{i % 997}",
                        "author_handle": f"user{i % 997}",
                        "author_roles": [],
                        "text": f"post number {i} " * 3,
                        "text_sha256": "0" * 64,
                        "created_at": now - timedelta(minutes=i),
                        "received_at": now,
                        "links": [],
                        "mentions": [],
                        "platform_ref": {},
                        "status": "decided",
                        "attempts": 1,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(DecisionRow),
                [
                    {
                        "id": i,
                        "post_id": i,
                        "outcome": "flag" if i % 3 == 0 else "allow",
                        "scores": {"profanity": 0.5},
                        "scores_by_scorer": {},
                        "reasons": [],
                        "scorer_versions": {},
                        "policy_version": "p-bench",
                        "shadow": False,
                        "normalised_text": "",
                        "decided_by": "modbot",
                        "decided_at": now - timedelta(minutes=i),
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(CaseRow),
                [
                    {
                        "post_id": i,
                        "decision_id": i,
                        "state": "open" if i % 2 else "closed",
                        "opened_at": now - timedelta(minutes=i),
                        "platform": "discord",
                        "community": f"c{i % 7}",
                        "category": rng.choice(CATEGORIES),
                        "score": rng.random(),
                    }
                    for i in ids
                    if i % every == 0
                ],
            )


async def measure(store: Store, runs: int) -> None:
    timings: list[float] = []

    @web.middleware
    async def timer(request: web.Request, handler):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        response = await handler(request)
        if request.path == "/queue":
            timings.append(time.perf_counter() - started)
        return response

    app = make_app(store, Config().build_policy(), WebConfig(secure_cookies=False))
    app.middlewares.insert(0, timer)
    async with TestClient(TestServer(app)) as client:
        await client.post("/login", data={"name": "bench", "password": "bench-password-1"})
        views = {
            "default (open, oldest first)": {},
            "category + score range": {"category": "harassment", "min_score": "0.5", "max_score": "0.9"},
            "sorted by score": {"sort": "score"},
            "community, newest, page 3": {"community": "c3", "sort": "newest", "page": "3"},
        }
        for label, params in views.items():
            timings.clear()
            for _ in range(runs):
                resp = await client.get("/queue", params=params)
                assert resp.status == 200, await resp.text()
            print(f"  {label}: median {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--case-every", type=int, default=3, help="one decision in N opened a case (default 3)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="modbot-queue-bench-"))
    try:
        engine = make_engine(f"sqlite:///{folder / 'modbot.db'}")
        upgrade(engine)
        store = Store(engine)
        started = time.perf_counter()
        fill(store, args.decisions, args.case_every)
        Accounts(store).add("bench", "bench-password-1", "viewer", "bench", "bench")
        print(
            f"{args.decisions} decisions ({args.decisions // 3} cases) written in {time.perf_counter() - started:.0f} s"
        )
        print("queue page, server time:")
        asyncio.run(measure(store, args.runs))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
