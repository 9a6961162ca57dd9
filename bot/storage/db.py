"""Engines and migrations. One place that knows the differences between SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

import migrations


class DatabaseError(RuntimeError):
    """The database cannot be reached or used; the message names which one and why."""


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers (CLI, dashboard) never block the service
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def display_url(url: str) -> str:
    """The URL with any password hidden, for logs and messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return cfg


_MIGRATION_LOCK = 0x6D6F64626F74  # "modbot"


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest version; returns that version."""
    cfg = _alembic_config()
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Several processes (scale-out workers) may start at once against a new database:
                # one migrates, the others wait here and then find the schema current.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            return MigrationContext.configure(conn).get_current_revision() or "none"
    except Exception as exc:
        raise DatabaseError(f"cannot migrate {display_url(str(engine.url))}: {exc}") from exc


def schema_status(engine: Engine) -> tuple[str | None, str]:
    """(current revision in the database, newest revision this code knows)."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head() or "none"
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision(), head
