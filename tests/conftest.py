"""Shared fixtures. Storage-touching tests run on SQLite and on the real PostgreSQL server.

PostgreSQL: MODBOT_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
Where it is unreachable those variants skip, unless MODBOT_REQUIRE_POSTGRES=1 (CI) makes that a failure.
Each PostgreSQL test gets a fresh schema inside its own throwaway database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import Config
from bot.review import Verdicts
from bot.runtime.wiring import planner
from bot.storage.db import make_engine, upgrade
from bot.storage.store import Store
from bot.web.accounts import Accounts
from moderation.scoring import ScoreResult, ScoringInput

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SWEARING_FLAGGED = "[policy.thresholds]\nprofanity = { flag = 0.8 }\n"
"""For tests of what happens to a flagged post: the default policy only logs swearing, and these
tests need a flag that does not depend on what the abuse model makes of a sentence."""
SWEARING_FLAGGED_POLICY: dict[str, Any] = tomllib.loads(SWEARING_FLAGGED)["policy"]


def swearing_flagged() -> Config:
    return Config.model_validate({"policy": SWEARING_FLAGGED_POLICY})


def swearing_verdicts() -> Verdicts:
    """What verdicts mean under `swearing_flagged`: its policy, the default action mapping."""
    config = swearing_flagged()
    return Verdicts(config.build_policy(), planner(config))


RULES_ONLY: dict[str, Any] = {"head": {"enabled": False}, "spam_text": {"enabled": False}, "native": {"enabled": False}}
"""`scorers` for tests of the runtime, not of the models: the profanity scorer and the spam rules,
which load in a second where the abuse model takes several (and far more on a busy machine)."""
RULES_ONLY_TOML = (
    "[scorers.head]\nenabled = false\n[scorers.spam_text]\nenabled = false\n[scorers.native]\nenabled = false\n"
)

PG_URL = os.environ.get("MODBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parent.parent


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    problem = _pg_available()
    if problem:
        if os.environ.get("MODBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but unreachable at {PG_URL}: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {problem}")
    name = f"modbot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'modbot.db'}"
    url: str = request.getfixturevalue("pg_database")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield Store(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def profanity_scorer():  # type: ignore[no-untyped-def]
    from model.profanity import ProfanityScorer

    return ProfanityScorer()


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from model.embedding import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def shipped_head():  # type: ignore[no-untyped-def]
    from model.heads import Head

    return Head.load()


@pytest.fixture(scope="session")
def head_embedder(shipped_head):  # type: ignore[no-untyped-def]
    """The embedding model carrying the shipped head's fine-tuned layers, as build_scorers makes it."""
    from model.embedding import Embedder

    return Embedder(branch=shipped_head.branch)


def decision_counts(url: str) -> tuple[int, int, int]:
    """(posts, decisions, posts decided more than once) in the database at `url`."""
    engine = create_engine(url)
    with engine.connect() as conn:
        posts = conn.execute(text("SELECT count(*) FROM posts")).scalar_one()
        decisions = conn.execute(text("SELECT count(*) FROM decisions")).scalar_one()
        twice = conn.execute(
            text("SELECT count(*) FROM (SELECT post_id FROM decisions GROUP BY post_id HAVING count(*) > 1) t")
        ).scalar_one()
    engine.dispose()
    return posts, decisions, twice


@pytest.fixture
def shared_datasets() -> Path:
    """../shared/datasets, where the training recipes read; a test needing it skips without it."""
    data = REPO.parent / "shared" / "datasets"
    if not data.is_dir():
        pytest.skip(f"no {data}")
    return data


def free_port() -> int:
    """A loopback port nothing listens on now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PASSWORD = "correct horse battery"
"""every test moderator's password"""


@pytest.fixture
def accounts(store: Store) -> Accounts:
    """Three dashboard accounts, one per role: ada (admin), kate (moderator), vic (viewer)."""
    made = Accounts(store)
    for name, role in (("ada", "admin"), ("kate", "moderator"), ("vic", "viewer")):
        made.add(name, PASSWORD, role, "test", "test")  # type: ignore[arg-type]
    return made


def own_data_dir(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """CLI calls in this test use `folder` for their data and the embedded defaults otherwise."""
    monkeypatch.setenv("MODBOT_DATA_DIR", str(folder))
    monkeypatch.delenv("MODBOT_CONFIG", raising=False)
    monkeypatch.delenv("MODBOT_DATABASE_URL", raising=False)


def start_role(config: Path, data: Path, role: str) -> subprocess.Popen[str]:
    """`modbot run --role ROLE` with `config` as a real process, its log in `data`."""
    env = {**os.environ, "MODBOT_DATA_DIR": str(data)}
    for var in ("MODBOT_CONFIG", "MODBOT_DATABASE_URL"):
        env.pop(var, None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "run", "--role", role],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(data / f"{role}-{time.monotonic_ns()}.log", "w"),
        text=True,
    )


def scaled_out_config(
    folder: Path, db_url: str, redis_url: str, scale: str = "", tail: str = ""
) -> tuple[Path, Path, str]:
    """(config file, feed folder, stream name) for `--role ingest` and `--role worker` processes on
    PostgreSQL and Redis, reading JSON Lines dropped into the feed folder; a fresh stream each call.
    `scale`: more [scale] lines; `tail`: more tables."""
    stream = f"modbot-test:{uuid.uuid4().hex}"
    feed = folder / "feed"
    feed.mkdir()
    config = folder / "modbot.toml"
    config.write_text(
        f'[database]\nurl = "{db_url}"\n'
        f'[scale]\nredis_url = "{redis_url}"\nstream = "{stream}"\ngroup = "workers"\n{scale}'
        f'[adapters.console]\nsource = "{feed}"\nfollow = true\npoll_seconds = 0.2\n'
        '[logging]\nlevel = "warning"\n' + tail
    )
    return config, feed, stream


class Reader:
    """A text scorer a test can see: it records what it was asked to read, and calls "idiot"
    harassment."""

    name = "reader"
    version = "1"
    categories: tuple[str, ...] = ("harassment",)
    needs_embedding = False

    def __init__(self) -> None:
        self.read: list[str] = []

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        self.read += [i.text for i in batch]
        return [ScoreResult({"harassment": 0.9 if "idiot" in i.text else 0.0}) for i in batch]
