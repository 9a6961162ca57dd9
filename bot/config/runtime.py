"""Settings of the running service: where data lives, the database, the pipeline, the dashboard,
scale-out, health checks, retention, the executor and logging."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from bot.config.base import Strict, UserPath, default_data_dir


class DataConfig(Strict):
    dir: UserPath = Field(default_factory=default_data_dir)
    """Where the SQLite database, action logs and model caches live."""


class DatabaseConfig(Strict):
    url: str = ""
    """SQLAlchemy URL. Empty: SQLite file `modbot.db` in the data dir."""
    url_env: str = Field("MODBOT_DATABASE_URL", pattern=r"^[A-Z_][A-Z0-9_]*$")
    """Environment variable that, when set, overrides `url` (keeps passwords out of the file)."""

    @field_validator("url")
    @classmethod
    def _no_secret(cls, url: str) -> str:
        if url:
            check_database_url(url, "database.url")
        return url


def masked(url: str) -> str:
    """The URL with whatever stands between `user:` and the last `@` of its address hidden, also
    when an unencoded `@` inside the password would make a parser split it elsewhere."""
    return re.sub(r"(://[^:/@]*:)[^/]*@", r"\1***@", url)


def check_database_url(url: str, where: str, password_allowed: bool = False) -> None:
    """A URL SQLAlchemy can parse, and outside the environment one without a password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError(
            f"{where} is not a database URL SQLAlchemy can read ({masked(url)}); percent-encode special characters"
        ) from None
    if parsed.password and not password_allowed:
        raise ValueError(
            f"{where} holds a password ({masked(url)}); secrets never live in the file: put the whole URL "
            "in the environment variable named by database.url_env"
        )


class PipelineConfig(Strict):
    batch_size: int = Field(128, ge=1, le=1024)
    """The most posts scored together. A batch waits at most batch_wait_ms for company, so the cap
    binds only when posts queue up; then bigger batches pad less and share the fixed costs
    (every offline scorer: 204 posts/s at 32, 305 at 128; bench/scorer_throughput.py)."""
    batch_wait_ms: int = Field(50, ge=0, le=10_000)
    queue_size: int = Field(1000, ge=1, le=100_000)
    max_post_chars: int = Field(200_000, ge=1_000, le=10_000_000)
    retry_failed_seconds: float = Field(300.0, ge=0, le=86_400)
    """How often posts whose scoring failed are tried again while running (0: only at start)."""
    decision_spool: int = Field(10_000, ge=100, le=1_000_000)
    """Decisions kept in memory while the database is down; when full, scoring and ingest wait."""
    ingest_spool: int = Field(100_000, ge=0, le=10_000_000)
    """Posts kept on local disk (<data dir>/ingest-spool.db) while the database is down, stored when
    it returns; when full, ingest pauses. 0: no spool, adapters wait instead."""
    ingest_spool_path: UserPath | None = None
    """Where that spool lives (default <data dir>/ingest-spool.db): on another disk than the
    database, it still takes posts when the database's disk is full."""


class ApiConfig(Strict):
    """The Perspective-compatible scoring API (docs/perspective.md)."""

    enabled: bool = False
    """Serve it from `modbot run` too (`modbot api` serves it alone)."""
    host: str = Field("127.0.0.1", min_length=1, max_length=200)
    port: int = Field(8766, ge=0, le=65535)
    store_comments: bool = False
    """Keep analysed comments and their decisions in the decision log. Off: nothing about a comment
    is written, as if every request said doNotStore (which a request can still say when this is on)."""
    default_qps: float = Field(1.0, gt=0, le=10_000)
    """Requests per second a key may make when it was created without --qps (Perspective's own
    default quota is 1)."""
    batch_size: int = Field(64, ge=1, le=512)
    batch_wait_ms: float = Field(0.0, ge=0, le=1000)
    """How long the first comment of a batch waits for others before the batch is scored. 0 (the
    default) waits not at all: under load the comments that arrive while one batch is scored form
    the next, and a wait only adds latency (bench/perspective_api.py: p50 36 ms at 4 ms, 23 ms at 0)."""


class WebConfig(Strict):
    enabled: bool = False
    """Serve the review dashboard from `modbot run` (`modbot web` serves it alone)."""
    host: str = Field("127.0.0.1", min_length=1, max_length=200)
    """Loopback by default: put a TLS reverse proxy in front to reach it from elsewhere."""
    port: int = Field(8765, ge=0, le=65535)
    secure_cookies: bool = True
    """Send the session cookie only over HTTPS (browsers treat http://127.0.0.1 and localhost as secure)."""
    session_hours: int = Field(12, ge=1, le=720)
    max_failed_logins: int = Field(5, ge=1, le=100)
    """Failed logins in a row for one name from one client address before that address must wait
    (1 s, doubling with each further failure, at most `lockout_minutes`); other addresses are not
    affected, so a stranger's guesses cannot lock a moderator out."""
    lockout_minutes: int = Field(15, ge=1, le=1440)
    login_attempts_per_minute: int = Field(10, ge=1, le=1000)
    """Per client address, whatever the account: slows password guessing across accounts."""
    trusted_proxies: list[str] = []
    """Addresses or networks of reverse proxies whose X-Forwarded-For names the client; from
    anyone else the header is ignored (behind an unlisted proxy every client is the proxy)."""

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, proxies: list[str]) -> list[str]:
        import ipaddress

        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{proxy!r} is not an IP address or network") from None
        return proxies


class ScaleConfig(Strict):
    redis_url: str = ""
    """Empty: one process does everything. Set: `modbot run --role ingest|worker|web` processes
    share the work through a Redis Stream (docs/operations.md#scaling-out)."""
    stream: str = Field("modbot:posts", min_length=1, max_length=200)
    group: str = Field("modbot-workers", min_length=1, max_length=200)
    claim_idle_seconds: float = Field(30.0, ge=1.0, le=3600)
    """A worker that read posts and did not acknowledge them this long is taken to be dead: another takes them."""


class HealthConfig(Strict):
    enabled: bool = False
    """Serve /healthz, /readyz and Prometheus /metrics (no login: keep it on loopback or a private network)."""
    host: str = Field("127.0.0.1", min_length=1, max_length=200)
    port: int = Field(9101, ge=0, le=65535)
    max_lag_seconds: float = Field(300.0, gt=0, le=86_400)
    """/readyz says not ready while an adapter reads this far behind its platform (the Bluesky
    firehose: from a commit's time to modbot reading it)."""


class RetentionConfig(Strict):
    post_text_days: int = Field(0, ge=0, le=36_500)
    """Purge post text (and drafts about it) this many days after it arrived, once its case is
    closed; decisions and text hashes stay. 0 keeps text forever. The service purges hourly."""


RETRIES_NEVER_END = "a backoff of 0 needs max_attempts: without waits the retry window never passes"


class ExecutorConfig(Strict):
    retry_for_seconds: float = Field(3600.0, ge=0.0, le=7 * 86_400)
    """How long a failing action keeps being retried, counted in the waits between its tries (the
    tries' own time comes on top), before it is marked failed: long enough to ride out a platform
    or network outage (issue #24: at five tries it gave up after 15 s)."""
    backoff_seconds: float = Field(1.0, ge=0.0, le=600)
    """The first retry's wait; it doubles with each failure, up to max_backoff_seconds."""
    max_backoff_seconds: float = Field(60.0, ge=0.0, le=3600)
    """The longest wait between tries, so an action runs within a minute of an outage's end."""
    max_attempts: int | None = Field(None, ge=1, le=100_000)
    """An optional cap on tries as well (unset: the retry window alone decides)."""
    stop_seconds: float = Field(30.0, ge=0.0, le=3600)
    """On SIGTERM, due actions keep running this long, then the rest wait in the outbox for the
    next start. With the action timeout (60 s) it stays inside the unit's TimeoutStopSec=120."""

    @model_validator(mode="after")
    def _retries_end(self) -> ExecutorConfig:
        if min(self.backoff_seconds, self.max_backoff_seconds) <= 0 and self.max_attempts is None:
            raise ValueError(RETRIES_NEVER_END)
        return self


class LoggingConfig(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"
